from .masks.bitmask import pack_bits, rasterize_bitmask, unpack_bits
from .fileio.checkpoint import register_safe_checkpoint_loader
from .class_names import (CARPAL_CLASSES, HAND_BONE_CLASSES, NUM_HAND_BONE_CLASSES,
                          hand_bone_palette)

__all__ = [
    'pack_bits', 'rasterize_bitmask', 'unpack_bits', 'register_safe_checkpoint_loader',
    'HAND_BONE_CLASSES', 'NUM_HAND_BONE_CLASSES', 'CARPAL_CLASSES', 'hand_bone_palette'
]
