"""mmengine's local file backend with atomic writes (checkpoints, ``last_checkpoint``)."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from .atomic_io import atomic_write_bytes


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put``/``put_text`` are atomic.

    The Runner saves checkpoints and the ``last_checkpoint`` pointer through
    this backend, so a kill during a save cannot leave a truncated checkpoint
    for ``--resume`` to pick up.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write_bytes(obj.encode(encoding), filepath)


def register_atomic_local_backend() -> None:
    """Use :class:`AtomicLocalBackend` for local paths from now on."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
