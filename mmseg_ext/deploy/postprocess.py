"""A view's network logits back to the image's geometry (the exported models' counterpart of
``undo_test_transforms``); the upsampling into the running sum is
:func:`mmseg_ext.utils.postprocessing.original_size.add_upsampled`, shared with PyTorch.
"""
from typing import Sequence

import numpy as np
import torch
from torch import Tensor


def undo_view(logits: np.ndarray, resized: Sequence[int], flip: bool) -> Tensor:
    """(C, Hp, Wp) logits of one view -> (C, h, w) float32 tensor of the unflipped,
    unpadded image (``resized`` = (h, w) before padding)."""
    height, width = resized
    out = torch.from_numpy(np.ascontiguousarray(logits[:, :height, :width], np.float32))
    return out.flip(dims=(2, )) if flip else out
