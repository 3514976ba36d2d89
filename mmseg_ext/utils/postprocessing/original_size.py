"""From test-size logits to the original image size, a few classes at a time (torch only:
the PyTorch segmentors and the exported models of :mod:`mmseg_ext.deploy` share it).

The two kernels every prediction path ends in: :func:`add_upsampled` adds a
model's upsampled probabilities (or logits, or threshold votes) into a
running (C, H, W) sum, and :func:`upsample_and_threshold` gives the masks
without materialising the full-size float tensor.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

SPACES = ('prob', 'logit', 'vote')
# Full-size planes made at a time by add_upsampled: 4 (64 MB at 2048²) runs at 0.84-0.92 s
# for 29 classes from 256², where one plane at a time takes 1.22-1.28 s and all 29 at once
# 0.73-0.75 s (1.9 GB) on this 2-core CPU.
CLASSES_PER_STEP = 4


def add_upsampled(total: Optional[Tensor], logits: Tensor, size: Sequence[int],
                  weight: Union[float, Tensor] = 1.0, align_corners: bool = False,
                  space: str = 'prob', thresholds: Optional[Tensor] = None) -> Tensor:
    """Add ``weight`` x each class of (C, h, w) ``logits``, upsampled to ``size``, into ``total``.

    Classes are resized (bilinear), transformed and added :data:`CLASSES_PER_STEP`
    at a time, so besides ``total`` only that many full-size planes exist.

    Args:
        total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
        logits (Tensor): (C, h, w) logits, test-time transforms already undone.
        size (Sequence[int]): (H, W) original size.
        weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.
        align_corners (bool): As used by the model.
        space (str): What is added: 'prob' (sigmoid), 'logit', or 'vote'
            (1 where the probability is above ``thresholds``).
        thresholds (Tensor, optional): (C, 1, 1) probability thresholds, for 'vote'.

    Returns:
        Tensor: ``total``, updated in place.
    """
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    size = tuple(int(v) for v in size)
    logits = logits.float() if total is None else logits.to(total.device, torch.float32)
    num_classes = logits.shape[0]
    fresh = total is None  # written, not added: no zero fill, no read of the sum
    if fresh:
        total = logits.new_empty((num_classes, ) + size)
    weights = torch.as_tensor(weight, dtype=torch.float32, device=logits.device)
    weights = weights.flatten().expand(num_classes).reshape(-1, 1, 1)
    if space == 'vote':
        logit_thresholds = torch.logit(thresholds.to(logits.device).reshape(-1, 1, 1))
    for start in range(0, num_classes, CLASSES_PER_STEP):
        group = slice(start, start + CLASSES_PER_STEP)
        planes = F.interpolate(logits[None, group], size=size, mode='bilinear',
                               align_corners=align_corners)[0]
        if space == 'prob':
            planes = planes.sigmoid_()
        elif space == 'vote':
            planes = (planes > logit_thresholds[group]).float()
        if fresh:
            torch.mul(planes, weights[group], out=total[group])
        else:
            total[group].addcmul_(planes, weights[group])
    return total


def _integer_factors(in_size: Sequence[int], out_size: Sequence[int]) -> Optional[tuple]:
    factors = [o // i for i, o in zip(in_size, out_size)]
    if all(f >= 1 and f * i == o for f, i, o in zip(factors, in_size, out_size)):
        return tuple(factors)
    return None


def _boxes_on_host(positive: Tensor) -> List[List[int]]:
    """Per class of (C, h, w) bool: inclusive [top, bottom, left, right], or -1s
    when empty. Computed on the device; one transfer (one synchronisation)."""
    rows_any = positive.any(dim=2).to(torch.uint8)
    cols_any = positive.any(dim=1).to(torch.uint8)
    empty = rows_any.amax(dim=1) == 0
    top = rows_any.argmax(dim=1)
    bottom = rows_any.shape[1] - 1 - rows_any.flip(1).argmax(dim=1)
    left = cols_any.argmax(dim=1)
    right = cols_any.shape[1] - 1 - cols_any.flip(1).argmax(dim=1)
    boxes = torch.stack([top, bottom, left, right], dim=1)
    return boxes.masked_fill(empty[:, None], -1).tolist()


def upsample_and_threshold(logits: Tensor, out_size: Sequence[int], thresholds: Tensor,
                           align_corners: bool) -> Tensor:
    """``sigmoid(resize(logits)) > threshold`` per class without the full float tensor.

    A bilinear output pixel is a convex combination of its (up to) 4 source
    logits, so it can pass the threshold only next to a source cell that
    (nearly) does. For an integer scale factor (and ``align_corners=False``)
    each class is therefore interpolated only on the bounding box of the
    cells within 1e-3 of passing, plus a 2-cell margin; the box maps onto the
    same output pixels with the same source coordinates, so the mask is that
    of full interpolation (up to float rounding of values within ~1e-7 of
    the threshold). Other sizes fall back to full interpolation.

    Args:
        logits (Tensor): (C, h, w) logits.
        out_size (Sequence[int]): (H, W) original size.
        thresholds (Tensor): (C, 1, 1) probability thresholds.
        align_corners (bool): As used by the model.

    Returns:
        Tensor: (C, H, W) bool mask.
    """
    out_size: Tuple[int, ...] = tuple(int(v) for v in out_size)
    factors = _integer_factors(logits.shape[-2:], out_size)
    if factors is None or align_corners:
        full = F.interpolate(logits[None], size=out_size, mode='bilinear',
                             align_corners=align_corners)[0]
        return full.sigmoid() > thresholds
    fy, fx = factors
    height, width = logits.shape[-2:]
    masks = torch.zeros((logits.shape[0], ) + out_size, dtype=torch.bool, device=logits.device)
    positive = logits > torch.logit(thresholds) - 1e-3
    for c, (top, bottom, left, right) in enumerate(_boxes_on_host(positive)):
        if top < 0:
            continue  # no cell near the threshold: the class is empty
        y0, y1 = max(top - 2, 0), min(bottom + 3, height)
        x0, x1 = max(left - 2, 0), min(right + 3, width)
        crop = logits[c, y0:y1, x0:x1][None, None]
        up = F.interpolate(
            crop, size=((y1 - y0) * fy, (x1 - x0) * fx), mode='bilinear', align_corners=False)
        masks[c, y0 * fy:y1 * fy, x0 * fx:x1 * fx] = up[0, 0].sigmoid() > thresholds[c, 0, 0]
    return masks
