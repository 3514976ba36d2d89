"""Region losses from soft per-class overlap: Tversky, focal Tversky, Dice, Jaccard."""
from typing import Optional, Sequence

import torch
from mmseg.registry import MODELS

from .utils import MultiLabelLoss, class_weight_tensor, soft_confusion, weighted_class_mean


@MODELS.register_module()
class MultiLabelTverskyLoss(MultiLabelLoss):
    """Tversky loss per class, ``1 - TP / (TP + alpha FP + beta FN)``.

    Computed for each class over the batch's valid pixels, raised to
    ``gamma`` (focal Tversky when ``gamma != 1``), then averaged over classes
    (weighted by ``class_weight``). alpha = beta = 0.5 is the soft Dice loss,
    alpha = beta = 1 the soft Jaccard loss.

    Args:
        alpha (float): Weight of false positives. Defaults to 0.3.
        beta (float): Weight of false negatives. Defaults to 0.7.
        gamma (float): Exponent of the per-class loss. Defaults to 1.0.
        smooth (float): Added to numerator and denominator. Defaults to 1.0.
        class_weight (Sequence[float], optional): Weight of each class.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Log key. Defaults to 'loss_tversky'.
    """

    def __init__(self,
                 alpha: float = 0.3,
                 beta: float = 0.7,
                 gamma: float = 1.0,
                 smooth: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_tversky') -> None:
        super().__init__(class_weight, loss_weight, loss_name)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.smooth = smooth

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                valid: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """Loss of (N, C, H, W) logits against 0/1 targets over valid pixels."""
        tp, fp, fn = soft_confusion(pred, target, valid)
        index = (tp + self.smooth) / (tp + self.alpha * fp + self.beta * fn + self.smooth)
        per_class = (1 - index).clamp_min(0).pow(self.gamma)
        weight = class_weight_tensor(self.class_weight, pred)
        return self.loss_weight * weighted_class_mean(per_class, weight)


@MODELS.register_module()
class MultiLabelFocalTverskyLoss(MultiLabelTverskyLoss):
    """Focal Tversky loss: :class:`MultiLabelTverskyLoss` with ``gamma=0.75``.

    Args:
        gamma (float): Exponent. Defaults to 0.75.
        loss_name (str): Log key. Defaults to 'loss_focal_tversky'.
        **kwargs: Other arguments of :class:`MultiLabelTverskyLoss`.
    """

    def __init__(self, gamma: float = 0.75, loss_name: str = 'loss_focal_tversky',
                 **kwargs) -> None:
        super().__init__(gamma=gamma, loss_name=loss_name, **kwargs)


@MODELS.register_module()
class MultiLabelDiceLoss(MultiLabelTverskyLoss):
    """Soft Dice loss per class, ``1 - (2TP + s) / (2TP + FP + FN + s)``.

    Args:
        smooth (float): Smoothing term. Defaults to 1.0.
        loss_name (str): Log key. Defaults to 'loss_dice'.
        **kwargs: ``class_weight``, ``loss_weight``.
    """

    def __init__(self, smooth: float = 1.0, loss_name: str = 'loss_dice', **kwargs) -> None:
        super().__init__(alpha=0.5, beta=0.5, smooth=smooth, loss_name=loss_name, **kwargs)


@MODELS.register_module()
class MultiLabelJaccardLoss(MultiLabelTverskyLoss):
    """Soft Jaccard (IoU) loss per class, ``1 - TP / (TP + FP + FN)``.

    Args:
        smooth (float): Smoothing term. Defaults to 1.0.
        loss_name (str): Log key. Defaults to 'loss_jaccard'.
        **kwargs: ``class_weight``, ``loss_weight``.
    """

    def __init__(self, smooth: float = 1.0, loss_name: str = 'loss_jaccard', **kwargs) -> None:
        super().__init__(alpha=1.0, beta=1.0, smooth=smooth, loss_name=loss_name, **kwargs)
