"""Safe loading of mmengine checkpoints under ``torch.load(weights_only=True)``.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
cannot read its own checkpoints then: their ``message_hub`` holds
``HistoryBuffer`` objects and numpy scalars/arrays. Instead of switching the
protection off, :func:`allow_mmengine_checkpoint_globals` allow-lists exactly
the types such checkpoints contain (``getattr`` only for HistoryBuffer's
statistics methods), and :func:`load_local_checkpoint` (the
loader registered for local paths) loads with ``weights_only=True`` and turns a
refusal into an error that names the file. A pickle that calls anything else
(``os.system``, ``eval`` ...) is still refused. :func:`checkpoint_split` reads the
training/validation split that ``RecordSplitHook`` records in a checkpoint.
"""
import pickle
from typing import Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from ..runtime.torch_support import check_torch_version


class UnsafeCheckpointError(RuntimeError):
    """Raised when a checkpoint's pickle needs a global that is not allowed."""


def _numpy_globals() -> List[Callable]:
    """Numpy reconstructors and dtype classes that pickled arrays/scalars use."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    allowed: List[Callable] = [
        core.multiarray.scalar, core.multiarray._reconstruct, np.ndarray, np.dtype
    ]
    allowed += [type(np.dtype(code)) for code in np.typecodes['All'] if code not in 'Mm']
    allowed += [type(np.dtype('datetime64[s]')), type(np.dtype('timedelta64[s]'))]
    return allowed


def history_buffer_getattr(obj: object, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    A pickled ``HistoryBuffer`` stores its statistics methods as
    ``getattr(HistoryBuffer, 'min')`` etc. Only those look-ups are allowed;
    allow-listing the real ``getattr`` would open every attribute of every
    reachable object.
    """
    if obj is HistoryBuffer and isinstance(name, str) and not name.startswith('_') \
            and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only HistoryBuffer '
        'statistics methods are allowed')


def empty_bytes(*args) -> bytes:
    """Stand-in for ``builtins.bytes`` while unpickling: only ``bytes()`` is allowed.

    Pickle protocol 2 writes an empty ``bytes`` object (the data of an empty
    numpy array, e.g. a fresh ``HistoryBuffer``) as the call ``bytes()``.
    Any other call (``bytes(10**12)`` allocates) is refused.
    """
    if args:
        raise pickle.UnpicklingError('checkpoint calls bytes() with arguments; only the '
                                     'empty bytes object is allowed')
    return b''


def mmengine_checkpoint_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """Return the globals an mmengine Runner checkpoint needs beyond torch's own."""
    return [HistoryBuffer, (history_buffer_getattr, 'builtins.getattr'),
            (empty_bytes, 'builtins.bytes')] + _numpy_globals()


def allow_mmengine_checkpoint_globals() -> None:
    """Allow-list :func:`mmengine_checkpoint_globals` for ``weights_only`` loads."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


def load_local_checkpoint(filename: str,
                          map_location: Optional[Union[str, Callable]] = None
                          ) -> dict:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | Callable, optional): As for ``torch.load``.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        UnsafeCheckpointError: If the pickle needs a global that is not
            allow-listed (for example a function call planted in the file).
    """
    import os.path as osp
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: its pickle needs an object '
            f'that is not allowed under weights_only loading ({err}). Only '
            'tensors, containers, numpy arrays/scalars and mmengine '
            'HistoryBuffer are accepted. If you created this file yourself '
            'and trust it, add the type with '
            'torch.serialization.add_safe_globals.') from err


def register_safe_checkpoint_loader() -> None:
    """Make mmengine use :func:`load_local_checkpoint` for local paths.

    Raises:
        DeviceError: On a torch older than 2.6, whose ``add_safe_globals`` takes
            no ``(callable, name)`` entries: every checkpoint load would fail.
    """
    check_torch_version()
    allow_mmengine_checkpoint_globals()
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)


def checkpoint_split(path: str) -> Optional[dict]:
    """The training/validation split a checkpoint was trained on (written by
    ``RecordSplitHook``), loaded with :func:`load_local_checkpoint`.

    Args:
        path (str): Path of the checkpoint file.

    Returns:
        dict | None: ``dict(train=[keys], val=[keys], fold=..., num_folds=...,
        data_root=...)``; None when the checkpoint records no split (one saved
        before the hook existed, or without it).
    """
    checkpoint = load_local_checkpoint(path, map_location='cpu')
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    split = meta.get('split') if isinstance(meta, dict) else None
    return split if isinstance(split, dict) else None
