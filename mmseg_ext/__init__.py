"""mmseg_ext: multi-label hand-bone X-ray segmentation for mmsegmentation.

Importing the package (or ``custom_imports=dict(imports=['mmseg_ext'])`` in a
config) registers its datasets, transforms, models, losses, metrics and hooks
into mmseg's registries, makes mmengine load checkpoints safely under
torch >= 2.6 (``weights_only`` with an allow-list) and write them atomically.

Without mmcv/mmengine/mmseg installed (a deployment install,
``requirements/deploy.txt``) nothing is registered and only the parts that do
not need them import: :mod:`mmseg_ext.deploy` (ONNX Runtime / OpenVINO
inference) and the utilities it uses (image reading, ``MaskRule``, RLE, the
submission writer). ``MM_IMPORT_ERROR`` then holds the reason.
"""
from .version import __version__

# The OpenMMLab packages a deployment install may lack.
_MM_PACKAGES = ('mmcv', 'mmengine', 'mmseg')
MM_IMPORT_ERROR = None
try:
    import mmseg  # noqa: F401  (pulls mmcv and mmengine)
except ModuleNotFoundError as err:
    if (err.name or '').split('.')[0] not in _MM_PACKAGES:
        raise
    MM_IMPORT_ERROR = err

if MM_IMPORT_ERROR is None:
    from .utils.fileio.atomic_backend import register_atomic_local_backend
    from .utils.fileio.checkpoint import register_safe_checkpoint_loader

    register_safe_checkpoint_loader()
    register_atomic_local_backend()

    from . import datasets, engine, evaluation, models, visualization  # noqa: F401

__all__ = ['__version__', 'MM_IMPORT_ERROR']
