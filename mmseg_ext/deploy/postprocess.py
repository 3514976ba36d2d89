"""Network logits -> original-size probabilities added into a running sum.

The same steps as the PyTorch path (``undo_test_transforms`` and
``MultiLabelSegmentorMixin.add_probs``): remove the padding, undo flips, then
per class resize bilinearly to the original size, sigmoid and add, so besides
the sum only one full-size plane exists at a time.
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def undo_view(logits: np.ndarray, resized: Sequence[int], flip: bool) -> Tensor:
    """(C, Hp, Wp) logits of one view -> (C, h, w) float32 tensor of the unflipped,
    unpadded image (``resized`` = (h, w) before padding)."""
    height, width = resized
    out = torch.from_numpy(np.ascontiguousarray(logits[:, :height, :width], np.float32))
    return out.flip(dims=(2, )) if flip else out


def add_upsampled_probs(logits: Tensor, size: Sequence[int], total: Optional[Tensor],
                        weight: Union[float, Tensor], align_corners: bool) -> Tensor:
    """Add ``weight`` x sigmoid(bilinear resize of ``logits`` to ``size``) into ``total``.

    Args:
        logits (Tensor): (C, h, w) float32 logits.
        size (Sequence[int]): (H, W) original image size.
        total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
        weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.
        align_corners (bool): As the model resizes.

    Returns:
        Tensor: ``total`` with the weighted probabilities added.
    """
    size = tuple(int(v) for v in size)
    if total is None:
        total = logits.new_zeros((logits.shape[0], ) + size)
    logits = logits.to(total.device)  # members on another device add into the same sum
    weights = torch.as_tensor(weight, dtype=torch.float32).flatten().expand(logits.shape[0])
    for c in range(logits.shape[0]):
        plane = F.interpolate(logits[c][None, None], size=size, mode='bilinear',
                              align_corners=align_corners)[0, 0]
        total[c].add_(plane.sigmoid_(), alpha=float(weights[c]))
    return total
