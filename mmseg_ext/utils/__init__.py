from .bitmask import pack_bits, rasterize_bitmask, unpack_bits
from .class_names import (CARPAL_CLASSES, HAND_BONE_CLASSES, NUM_HAND_BONE_CLASSES,
                          hand_bone_palette)

try:
    from .checkpoint import register_safe_checkpoint_loader
except ModuleNotFoundError as err:  # a deployment install (mmseg_ext.deploy) has no mmengine
    if (err.name or '').split('.')[0] != 'mmengine':
        raise

__all__ = [
    'pack_bits', 'rasterize_bitmask', 'unpack_bits', 'register_safe_checkpoint_loader',
    'HAND_BONE_CLASSES', 'NUM_HAND_BONE_CLASSES', 'CARPAL_CLASSES', 'hand_bone_palette'
]
