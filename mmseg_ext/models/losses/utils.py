"""Shared pieces of the multi-label losses: base classes, masking, class weights."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn


def class_weight_tensor(class_weight: Optional[Sequence[float]],
                        like: torch.Tensor) -> Optional[torch.Tensor]:
    """Per-class weights as a (C,) tensor on ``like``'s device, or None."""
    if class_weight is None:
        return None
    weight = like.new_tensor(class_weight)
    if weight.numel() != like.shape[1]:
        raise ValueError(f'class_weight has {weight.numel()} values for {like.shape[1]} classes')
    return weight


def weighted_class_mean(per_class: torch.Tensor, weight: Optional[torch.Tensor]) -> torch.Tensor:
    """Mean of a (C,) tensor, weighted by ``weight`` when given."""
    if weight is None:
        return per_class.mean()
    return (per_class * weight).sum() / weight.sum().clamp_min(1e-12)


def soft_confusion(pred: torch.Tensor, target: torch.Tensor,
                   valid: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
    """Soft TP, FP, FN per class, summed over the batch and valid pixels.

    Args:
        pred (Tensor): (N, C, H, W) logits; summed in float32 (a float16 sum
            over 1024² pixels would pass 65504).
        target (Tensor): (N, C, H, W) 0/1 targets.
        valid (Tensor, optional): (N, 1, H, W) mask of real (unpadded) pixels.

    Returns:
        tuple[Tensor]: Three (C,) tensors.
    """
    prob = pred.float().sigmoid()
    target = target.to(prob.dtype)
    if valid is not None:
        prob = prob * valid
        target = target * valid
    dims = (0, 2, 3)
    tp = (prob * target).sum(dims)
    fp = (prob * (1 - target)).sum(dims)
    fn = ((1 - prob) * target).sum(dims)
    return tp, fp, fn


def masked_pixel_mean(loss_map: torch.Tensor, valid: Optional[torch.Tensor],
                      weight: Optional[torch.Tensor]) -> torch.Tensor:
    """Per-class mean of an (N, C, H, W) loss over valid pixels, then the class mean."""
    if valid is None:
        per_class = loss_map.mean(dim=(0, 2, 3))
    else:
        valid = valid.to(loss_map.dtype)
        per_class = (loss_map * valid).sum(dim=(0, 2, 3)) / valid.sum().clamp_min(1.0)
    return weighted_class_mean(per_class, weight)


class MultiLabelLoss(nn.Module):
    """Base of the multi-label losses: weights and the log name.

    Args:
        class_weight (Sequence[float], optional): Weight of each class's loss.
        loss_weight (float): Multiplier of the loss.
        loss_name (str): Log key; must start with ``loss_``.
    """

    def __init__(self, class_weight: Optional[Sequence[float]], loss_weight: float,
                 loss_name: str) -> None:
        super().__init__()
        self.class_weight = class_weight
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name


class PixelwiseMultiLabelLoss(MultiLabelLoss):
    """A per-pixel loss averaged over valid pixels per class, then over classes.

    Subclasses implement :meth:`pixel_loss` on (N, C, H, W) logits and float
    targets.

    Args:
        class_weight (Sequence[float], optional): Weight of each class's loss.
        loss_weight (float): Multiplier of the loss.
        loss_name (str): Log key.
    """

    def pixel_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                valid: Optional[torch.Tensor] = None, **kwargs) -> torch.Tensor:
        """Loss of (N, C, H, W) logits against 0/1 targets over valid pixels.

        Computed in float32 whatever the logits' dtype (mixed precision).
        """
        pred = pred.float()
        loss_map = self.pixel_loss(pred, target.to(pred.dtype))
        weight = class_weight_tensor(self.class_weight, pred)
        return self.loss_weight * masked_pixel_mean(loss_map, valid, weight)
