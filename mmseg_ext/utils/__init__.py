from .class_names import CARPAL_CLASSES, HAND_BONE_CLASSES, NUM_HAND_BONE_CLASSES, hand_bone_palette
from .masks.bitmask import pack_bits, rasterize_bitmask, unpack_bits

__all__ = [
    'pack_bits', 'rasterize_bitmask', 'unpack_bits', 'HAND_BONE_CLASSES',
    'NUM_HAND_BONE_CLASSES', 'CARPAL_CLASSES', 'hand_bone_palette'
]
