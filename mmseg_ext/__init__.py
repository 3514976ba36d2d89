"""mmseg_ext: multi-label hand-bone X-ray segmentation for mmsegmentation.

Importing the package (or ``custom_imports=dict(imports=['mmseg_ext'])`` in a
config) registers its datasets, transforms, models, losses, metrics and hooks
into mmseg's registries, makes mmengine load checkpoints safely under
torch >= 2.6 (``weights_only`` with an allow-list) and write them atomically.
"""
from .utils.fileio.atomic_io import register_atomic_local_backend
from .utils.fileio.checkpoint import register_safe_checkpoint_loader
from .version import __version__

register_safe_checkpoint_loader()
register_atomic_local_backend()

from . import datasets, engine, evaluation, models, visualization  # noqa: E402,F401

__all__ = ['__version__']
