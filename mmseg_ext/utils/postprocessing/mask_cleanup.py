"""Optional post-processing of per-class masks (off by default)."""
from inspect import signature
from typing import Optional

import cv2
import numpy as np
import torch

from ..masks.boxes import bounding_box


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Set background pixels not reachable from the border (holes) to True."""
    padded = np.pad(mask, 1).astype(np.uint8)
    flood = padded.copy()
    cv2.floodFill(flood, np.zeros((flood.shape[0] + 2, flood.shape[1] + 2), np.uint8), (0, 0), 1)
    return (padded | (flood == 0))[1:-1, 1:-1].astype(bool)


def clean_mask(mask: np.ndarray, keep_largest: bool = False, min_area: int = 0,
               close_kernel: int = 0, fill_holes: bool = False) -> np.ndarray:
    """Morphological closing, hole filling, then component filtering of one mask.

    Args:
        mask (np.ndarray): (H, W) bool mask of one class.
        keep_largest (bool): Keep only the largest 8-connected component.
        min_area (int): Remove components with fewer pixels.
        close_kernel (int): Side of the elliptic closing kernel (0: none).
        fill_holes (bool): Fill background enclosed by the mask.

    Returns:
        np.ndarray: The cleaned (H, W) bool mask (work is limited to the
        mask's bounding box plus the kernel margin).
    """
    if not mask.any() or not (keep_largest or min_area > 0 or close_kernel > 1 or fill_holes):
        return mask
    y0, y1, x0, x1 = bounding_box(mask, (close_kernel, close_kernel))
    box = mask[y0:y1, x0:x1].astype(np.uint8)
    if close_kernel > 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_kernel, close_kernel))
        box = cv2.morphologyEx(box, cv2.MORPH_CLOSE, kernel)
    if fill_holes:
        box = _fill_holes(box.astype(bool)).astype(np.uint8)
    if keep_largest or min_area > 0:
        _, labels, stats, _ = cv2.connectedComponentsWithStats(box, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = areas >= min_area
        if keep_largest and areas.size:
            keep &= np.arange(areas.size) == np.argmax(areas)
        box = np.isin(labels, np.flatnonzero(keep) + 1)
    cleaned = np.zeros_like(mask)
    cleaned[y0:y1, x0:x1] = box.astype(bool)
    return cleaned


def clean_masks(masks: torch.Tensor, classes: Optional[list] = None, **options) -> torch.Tensor:
    """Apply :func:`clean_mask` with ``options`` to each (or the listed) class of
    (C, H, W) masks.

    Args:
        masks (Tensor): (C, H, W) bool masks.
        classes (list[int], optional): Indices of the classes to clean; None: all.
        **options: Keyword arguments of :func:`clean_mask` (``keep_largest``,
            ``min_area``, ``close_kernel``, ``fill_holes``).

    Returns:
        Tensor: The cleaned masks, a copy on ``masks``' device.
    """
    out = masks.cpu().numpy().copy()
    for c in (range(out.shape[0]) if classes is None else classes):
        out[c] = clean_mask(out[c], **options)
    return torch.from_numpy(out).to(masks.device)


# The keys of a ``test_cfg.cleanup`` dict: clean_masks's ``classes``, then clean_mask's options.
CLEANUP_KEYS = tuple(signature(clean_masks).parameters)[1:-1] + \
    tuple(signature(clean_mask).parameters)[1:]
