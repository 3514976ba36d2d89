"""Which pixels of a padded training batch the losses count."""
from typing import Optional, Sequence

import torch
from torch import Tensor

from mmseg_ext.utils.postprocessing.view_geometry import padding_of


def valid_pixel_mask(data_samples: Sequence, size: Sequence[int],
                     device: torch.device) -> Optional[Tensor]:
    """(N, 1, H, W) mask that is False on padding, or None when nothing is padded
    (``data_samples``: mmseg ``SegDataSample`` s, read through their ``metainfo``)."""
    paddings = [padding_of(s.metainfo) for s in data_samples]
    if not any(any(p) for p in paddings):
        return None
    height, width = size
    valid = torch.zeros((len(paddings), 1, height, width), dtype=torch.bool, device=device)
    for i, (left, right, top, bottom) in enumerate(paddings):
        valid[i, :, top:height - bottom, left:width - right] = True
    return valid
