"""Dice counts |P∩G|, |P|, |G| per class of multi-label masks, and Dice from them.

One family of counters for one (3, C) int64 result: :func:`dice_counts` for two
sets of planes, :func:`dice_counts_packed` against a packed bit map (both
count on the masks' device, class by class), and :func:`dice_counts_in_boxes`,
which counts only inside each class's boxes of two mask sources
(:mod:`~mmseg_ext.utils.masks.mask_sources`), on the host.
"""
from typing import Iterable

import numpy as np
import torch

from .boxes import box_intersection


def _plane_counts(pred: torch.Tensor, gt_planes: Iterable[torch.Tensor]) -> np.ndarray:
    """(3, C) |P∩G|, |P|, |G| from (C, H, W) bool ``pred`` and one (H, W) bool ground
    truth plane per class, counted class by class (no (C, H, W) temporary)."""
    counts = [torch.stack([(p & g).sum(), p.sum(), g.sum()]) for p, g in zip(pred, gt_planes)]
    return torch.stack(counts, dim=1).cpu().numpy()


def dice_counts(pred: torch.Tensor, gt: torch.Tensor) -> np.ndarray:
    """(3, C) int64 array of |P∩G|, |P|, |G| per class for (C, H, W) masks.

    Args:
        pred (Tensor): (C, H, W) bool or 0/1 predicted masks.
        gt (Tensor): (C, H, W) bool or 0/1 true masks (moved to ``pred``'s device).
    """
    pred = pred.bool()
    return _plane_counts(pred, gt.to(pred.device).bool())


def dice_counts_packed(pred: torch.Tensor, bits: torch.Tensor) -> np.ndarray:
    """:func:`dice_counts` against a packed (H, W) bit map (bit c = class c), without
    unpacking it: each class's plane is formed, counted and dropped.

    Args:
        pred (Tensor): (C, H, W) bool or 0/1 predicted masks.
        bits (Tensor): (H, W) integer bit map of the ground truth.
    """
    pred = pred.bool()
    bits = bits.to(pred.device)
    return _plane_counts(pred, (((bits >> c) & 1).bool() for c in range(pred.shape[0])))


def dice_counts_in_boxes(pred, gt, num_classes: int) -> np.ndarray:
    """The counts of :func:`dice_counts`, counted inside each class's boxes only (a bone
    covers a small part of the image).

    Args:
        pred (PlaneMasks | PackedMasks): The predicted masks.
        gt (PlaneMasks | PackedMasks): The true masks.
        num_classes (int): Classes counted (0 .. num_classes - 1).

    Returns:
        np.ndarray: (3, C) int64 |P∩G|, |P|, |G|.
    """
    counts = np.zeros((3, num_classes), np.int64)
    for c in range(num_classes):
        pred_box, gt_box = pred.box(c), gt.box(c)
        if pred_box is not None:
            counts[1, c] = np.count_nonzero(pred.crop(c, pred_box))
        if gt_box is not None:
            counts[2, c] = np.count_nonzero(gt.crop(c, gt_box))
        both = box_intersection(pred_box, gt_box)
        if both is not None:
            counts[0, c] = np.count_nonzero(pred.crop(c, both) & gt.crop(c, both))
    return counts


def dice_from_counts(counts: np.ndarray) -> np.ndarray:
    """Dice 2|P∩G| / (|P| + |G|) per entry of (..., 3, C) counts; empty vs empty = 1.

    Args:
        counts (np.ndarray): (..., 3, C) |P∩G|, |P|, |G|.
    """
    inter, pred_sum, gt_sum = counts[..., 0, :], counts[..., 1, :], counts[..., 2, :]
    denom = pred_sum + gt_sum
    return np.where(denom > 0, 2 * inter / np.maximum(denom, 1), 1.0)
