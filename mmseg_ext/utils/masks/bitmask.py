"""Multi-label masks as one integer map with a bit per class: rasterise, pack, unpack."""
from typing import Union

import cv2
import numpy as np
import torch

from ..class_names import NUM_HAND_BONE_CLASSES

Array = Union[np.ndarray, torch.Tensor]


def unpack_bits(bits: Array, num_classes: int) -> Array:
    """(..., H, W) integer bit map -> (..., C, H, W) bool, one plane per class.

    One class at a time into the bool output: the only temporaries are one
    plane of ``bits``' own dtype (no (C, H, W) int64 array: 973 MB at 29 x 2048²).

    Args:
        bits (np.ndarray | Tensor): (..., H, W) integer map, bit ``c`` = class ``c``.
        num_classes (int): Planes to unpack (bits 0 .. num_classes - 1).
    """
    if isinstance(bits, torch.Tensor):
        out = torch.empty(bits.shape[:-2] + (num_classes, ) + bits.shape[-2:],
                          dtype=torch.bool, device=bits.device)
    else:
        bits = np.asarray(bits)
        out = np.empty(bits.shape[:-2] + (num_classes, ) + bits.shape[-2:], dtype=bool)
    for c in range(num_classes):
        out[..., c, :, :] = (bits >> c) & 1
    return out


def pack_bits(masks: Array) -> Array:
    """(..., C, H, W) bool/0-1 masks -> (..., H, W) int32 bit map (C <= 31).

    One class at a time into the int32 output: no (C, H, W) int64 temporary.

    Args:
        masks (np.ndarray | Tensor): (..., C, H, W) masks; nonzero is foreground.

    Raises:
        ValueError: More than 31 classes.
    """
    num_classes = masks.shape[-3]
    if num_classes > 31:
        raise ValueError(f'at most 31 classes fit an int32 bit map, got {num_classes}')
    if isinstance(masks, torch.Tensor):
        bits = torch.zeros(masks.shape[:-3] + masks.shape[-2:], dtype=torch.int32,
                           device=masks.device)
        for c in range(num_classes):
            bits |= (masks[..., c, :, :] != 0).to(torch.int32) << c
        return bits
    masks = np.asarray(masks)
    bits = np.zeros(masks.shape[:-3] + masks.shape[-2:], np.int32)
    for c in range(num_classes):
        bits |= (masks[..., c, :, :] != 0).astype(np.int32) << c
    return bits


def rasterize_bitmask(polygons: list, shape: tuple,
                      num_classes: int = NUM_HAND_BONE_CLASSES) -> np.ndarray:
    """Fill polygons into an (H, W) int32 bit map, touching only each bounding box.

    Args:
        polygons (list): (class index, (K, 2) points) pairs.
        shape (tuple): (H, W) of the map.
        num_classes (int): Classes allowed (bits).

    Returns:
        np.ndarray: (H, W) int32 with bit ``c`` set inside class ``c``'s polygons.
    """
    height, width = shape
    bits = np.zeros((height, width), np.int32)
    for class_index, points in polygons:
        if not 0 <= class_index < num_classes:
            raise ValueError(f'class index {class_index} outside 0..{num_classes - 1}')
        pts = np.rint(points).astype(np.int32)
        x0, y0 = np.maximum(pts.min(axis=0), 0)
        x1 = min(int(pts[:, 0].max()) + 1, width)
        y1 = min(int(pts[:, 1].max()) + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(patch, [pts - np.array([x0, y0], np.int32)], 1)
        bits[y0:y1, x0:x1] |= patch.astype(np.int32) << class_index
    return bits
