"""Packing/unpacking multi-label masks as one integer map with a bit per class."""
from typing import Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]


def unpack_bits(bits: Array, num_classes: int) -> Array:
    """(..., H, W) integer bit map -> (..., C, H, W) bool, one plane per class.

    One class at a time into the bool output: the only temporaries are one
    plane of ``bits``' own dtype (no (C, H, W) int64 array: 973 MB at 29 x 2048²).
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
    """(..., C, H, W) bool/0-1 masks -> (..., H, W) int32 bit map (C <= 31)."""
    num_classes = masks.shape[-3]
    if num_classes > 31:
        raise ValueError(f'at most 31 classes fit an int32 bit map, got {num_classes}')
    if isinstance(masks, torch.Tensor):
        weights = (1 << torch.arange(num_classes, device=masks.device)).view(-1, 1, 1)
        return (masks.to(torch.int64) * weights).sum(dim=-3).to(torch.int32)
    weights = (1 << np.arange(num_classes, dtype=np.int64)).reshape(-1, 1, 1)
    return (masks.astype(np.int64) * weights).sum(axis=-3).astype(np.int32)
