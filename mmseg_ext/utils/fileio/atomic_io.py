"""Atomic writes (CSV, JSON, checkpoints) and the early check that an output path is writable."""
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


def check_writable(out_file: str) -> None:
    """Fail now, not after inference, when ``out_file`` cannot be written.

    Creates the folder if needed and writes (then removes) a probe file
    beside ``out_file``; an existing ``out_file`` is left untouched.

    Raises:
        OSError: The folder cannot be created or written, or ``out_file``
            is a folder; the message names the path.
    """
    out_file = osp.abspath(out_file)
    if osp.isdir(out_file):
        raise IsADirectoryError(f'{out_file}: is a folder, expected a CSV file path')
    probe = f'{out_file}.probe{os.getpid()}'
    try:
        os.makedirs(osp.dirname(out_file), exist_ok=True)
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as err:
        raise PermissionError(f'{out_file}: cannot write the submission there ({err})') from err
