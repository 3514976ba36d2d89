"""A decode head whose input already is the logits."""
from typing import Union

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class IdentityHead(BaseDecodeHead):
    """Passes logits through; holds ``loss_decode`` and ``align_corners``.

    Lets a network that outputs logits itself (an SMP model used as the
    backbone) share mmseg's head interface and our multi-label loss path.

    Args:
        num_classes (int): Number of logit channels.
        loss_decode (dict | list[dict]): Loss configs.
        align_corners (bool): For resizing logits. Defaults to False.
    """

    def __init__(self, num_classes: int, loss_decode: Union[dict, list],
                 align_corners: bool = False) -> None:
        super().__init__(in_channels=num_classes, channels=num_classes,
                         num_classes=num_classes, loss_decode=loss_decode,
                         align_corners=align_corners, init_cfg=None)
        del self.conv_seg  # no parameters: unused ones would break DDP

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs
