"""Per-class binary cross-entropy on sigmoid logits."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from .utils import class_weight_tensor, masked_pixel_mean


@MODELS.register_module()
class MultiLabelBCELoss(nn.Module):
    """Binary cross-entropy for (N, C, H, W) multi-label targets.

    Unlike mmseg's ``CrossEntropyLoss(use_sigmoid=True)``, ``pos_weight`` and
    ``class_weight`` apply per class (channel axis), and padded pixels are
    ignored through the ``valid`` mask.

    Args:
        pos_weight (Sequence[float], optional): Weight of positives per class.
        class_weight (Sequence[float], optional): Weight of each class's loss.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Log key; must start with ``loss_``. Defaults to 'loss_bce'.
    """

    def __init__(self,
                 pos_weight: Optional[Sequence[float]] = None,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_bce') -> None:
        super().__init__()
        self.pos_weight = pos_weight
        self.class_weight = class_weight
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                valid: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """Loss of (N, C, H, W) logits against 0/1 targets over valid pixels."""
        pos_weight = class_weight_tensor(self.pos_weight, pred)
        loss_map = F.binary_cross_entropy_with_logits(
            pred, target.to(pred.dtype), reduction='none',
            pos_weight=None if pos_weight is None else pos_weight.view(-1, 1, 1))
        weight = class_weight_tensor(self.class_weight, pred)
        return self.loss_weight * masked_pixel_mean(loss_map, valid, weight)

    @property
    def loss_name(self) -> str:
        return self._loss_name
