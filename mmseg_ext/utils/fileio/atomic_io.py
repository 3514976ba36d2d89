"""Atomic writes: the one temp-file-and-rename helper (CSV, JSON, checkpoints)."""
import contextlib
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import IO, Iterator, Union


@contextlib.contextmanager
def atomic_open(filepath: Union[str, Path], mode: str = 'wb', **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``filepath``; on success fsync and rename it.

    Leaving the block with an exception removes the temporary file: a failed
    or killed writer leaves at most a ``.tmp`` file, never a truncated
    ``filepath``. ``kwargs`` go to :func:`open` (e.g. ``newline=''``).
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=osp.basename(filepath) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` atomically (see :func:`atomic_open`)."""
    with atomic_open(filepath, 'wb') as f:
        f.write(data)
