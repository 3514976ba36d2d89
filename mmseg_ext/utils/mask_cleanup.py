"""Optional post-processing of per-class masks (off by default)."""
from typing import Optional

import cv2
import numpy as np
import torch


def clean_mask(mask: np.ndarray, keep_largest: bool = False, min_area: int = 0) -> np.ndarray:
    """Keep the largest connected component and/or drop components below ``min_area``.

    Args:
        mask (np.ndarray): (H, W) bool mask of one class.
        keep_largest (bool): Keep only the largest 8-connected component.
        min_area (int): Remove components with fewer pixels.

    Returns:
        np.ndarray: The cleaned (H, W) bool mask.
    """
    if not (keep_largest or min_area > 0) or not mask.any():
        return mask
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask[y0:y1, x0:x1].astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = areas >= min_area
    if keep_largest and areas.size:
        keep &= np.arange(areas.size) == np.argmax(areas)
    cleaned = np.zeros_like(mask)
    cleaned[y0:y1, x0:x1] = np.isin(labels, np.flatnonzero(keep) + 1)
    return cleaned


def clean_masks(masks: torch.Tensor, keep_largest: bool = False, min_area: int = 0,
                classes: Optional[list] = None) -> torch.Tensor:
    """Apply :func:`clean_mask` to each (or the listed) class of (C, H, W) masks."""
    if not (keep_largest or min_area > 0):
        return masks
    out = masks.cpu().numpy().copy()
    for c in (range(out.shape[0]) if classes is None else classes):
        out[c] = clean_mask(out[c], keep_largest, min_area)
    return torch.from_numpy(out).to(masks.device)
