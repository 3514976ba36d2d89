"""Sigmoid focal loss per class."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from .utils import PixelwiseMultiLabelLoss


@MODELS.register_module()
class MultiLabelFocalLoss(PixelwiseMultiLabelLoss):
    """Focal loss (Lin et al.) on independent sigmoid channels.

    Args:
        gamma (float): Focusing exponent. Defaults to 2.0.
        alpha (float): Weight of positives (1 - alpha for negatives); a
            negative value disables it. Defaults to 0.25.
        class_weight (Sequence[float], optional): Weight of each class's loss.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Log key. Defaults to 'loss_focal'.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 alpha: float = 0.25,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_focal') -> None:
        super().__init__(class_weight, loss_weight, loss_name)
        self.gamma = gamma
        self.alpha = alpha

    def pixel_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(pred, target, reduction='none')
        prob = pred.sigmoid()
        p_true = prob * target + (1 - prob) * (1 - target)
        loss_map = bce * (1 - p_true).pow(self.gamma)
        if self.alpha >= 0:
            loss_map = loss_map * (self.alpha * target + (1 - self.alpha) * (1 - target))
        return loss_map
