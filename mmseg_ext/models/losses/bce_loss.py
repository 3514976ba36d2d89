"""Per-class binary cross-entropy on sigmoid logits."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .utils import PixelwiseMultiLabelLoss, class_weight_tensor


@MODELS.register_module()
class MultiLabelBCELoss(PixelwiseMultiLabelLoss):
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
        super().__init__(class_weight, loss_weight, loss_name)
        self.pos_weight = pos_weight

    def pixel_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pos_weight = class_weight_tensor(self.pos_weight, pred)
        return F.binary_cross_entropy_with_logits(
            pred, target, reduction='none',
            pos_weight=None if pos_weight is None else pos_weight.view(-1, 1, 1))
