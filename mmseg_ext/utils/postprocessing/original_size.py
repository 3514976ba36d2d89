"""From test-size logits to full original-size planes, a few classes at a time (torch only:
the PyTorch segmentors and the exported models of :mod:`mmseg_ext.deploy` share it).

:func:`add_upsampled` adds a model's upsampled probabilities (or logits) and
:func:`add_votes` its threshold votes into a running (C, H, W) sum: the
full-plane path, for a dense CRF and the tools that need probabilities. Masks
without the full-size float tensor (one view, many views, many members) come
from :mod:`~mmseg_ext.utils.postprocessing.box_merge`.
"""
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

# Full-size planes made at a time by add_upsampled: 4 (64 MB at 2048²) runs at 0.84-0.92 s
# for 29 classes from 256², where one plane at a time takes 1.22-1.28 s and all 29 at once
# 0.73-0.75 s (1.9 GB) on this 2-core CPU.
CLASSES_PER_STEP = 4


def add_upsampled(total: Optional[Tensor], logits: Tensor, size: Sequence[int],
                  weight: Union[float, Tensor] = 1.0, align_corners: bool = False,
                  space: str = 'prob') -> Tensor:
    """Add ``weight`` x each class of (C, h, w) ``logits``, upsampled to ``size``, into ``total``.

    Classes are resized (bilinear), transformed and added :data:`CLASSES_PER_STEP`
    at a time, so besides ``total`` only that many full-size planes exist.

    Args:
        total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
        logits (Tensor): (C, h, w) logits, test-time transforms already undone.
        size (Sequence[int]): (H, W) original size.
        weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.
        align_corners (bool): As used by the model.
        space (str): What is added: 'prob' (sigmoid) or 'logit'; votes: :func:`add_votes`.

    Returns:
        Tensor: ``total``, updated in place.

    Raises:
        ValueError: ``space`` not 'prob' or 'logit'.
    """
    if space not in ('prob', 'logit'):
        raise ValueError(f"space must be 'prob' or 'logit' (votes: add_votes), got {space!r}")
    return _add_planes(total, logits, size, weight, align_corners,
                       _sigmoid if space == 'prob' else None)


def add_votes(total: Optional[Tensor], logits: Tensor, size: Sequence[int], thresholds: Tensor,
              weight: Union[float, Tensor] = 1.0, align_corners: bool = False) -> Tensor:
    """Add ``weight`` where each class of (C, h, w) ``logits``, upsampled to ``size``, is
    above its probability threshold into ``total`` (a count of votes).

    Args:
        total (Tensor, optional): Running (C, H, W) float32 count; None starts one.
        logits (Tensor): (C, h, w) logits, test-time transforms already undone.
        size (Sequence[int]): (H, W) original size.
        thresholds (Tensor): (C, 1, 1) probability thresholds.
        weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.
        align_corners (bool): As used by the model.

    Returns:
        Tensor: ``total``, updated in place.
    """
    cuts = torch.logit(thresholds.to(logits.device if total is None else total.device)
                       .reshape(-1, 1, 1))
    return _add_planes(total, logits, size, weight, align_corners,
                       lambda planes, group: (planes > cuts[group]).float())


def _sigmoid(planes: Tensor, group: slice) -> Tensor:
    return planes.sigmoid_()


def _add_planes(total: Optional[Tensor], logits: Tensor, size: Sequence[int],
                weight: Union[float, Tensor], align_corners: bool,
                transform: Optional[Callable[[Tensor, slice], Tensor]]) -> Tensor:
    """``total += weight x transform(upsampled logits)``, :data:`CLASSES_PER_STEP` classes
    at a time (``transform`` None adds the logits)."""
    size = tuple(int(v) for v in size)
    logits = logits.float() if total is None else logits.to(total.device, torch.float32)
    num_classes = logits.shape[0]
    fresh = total is None  # written, not added: no zero fill, no read of the sum
    if fresh:
        total = logits.new_empty((num_classes, ) + size)
    weights = torch.as_tensor(weight, dtype=torch.float32, device=logits.device)
    weights = weights.flatten().expand(num_classes).reshape(-1, 1, 1)
    for start in range(0, num_classes, CLASSES_PER_STEP):
        group = slice(start, start + CLASSES_PER_STEP)
        planes = F.interpolate(logits[None, group], size=size, mode='bilinear',
                               align_corners=align_corners)[0]
        if transform is not None:
            planes = transform(planes, group)
        if fresh:
            torch.mul(planes, weights[group], out=total[group])
        else:
            total[group].addcmul_(planes, weights[group])
    return total
