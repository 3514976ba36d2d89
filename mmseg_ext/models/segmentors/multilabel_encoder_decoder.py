"""EncoderDecoder with 29 independent sigmoid channels."""
from typing import Dict, List

import torch.nn as nn
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix
from torch import Tensor

from .multilabel_mixin import MultiLabelSegmentorMixin


def auxiliary_losses(segmentor, inputs: List[Tensor], data_samples) -> Dict[str, Tensor]:
    """Losses of one auxiliary head or a ModuleList of them ('aux' / 'aux_i')."""
    heads = segmentor.auxiliary_head
    if not isinstance(heads, nn.ModuleList):
        return add_prefix(segmentor.head_losses(heads, heads(inputs), data_samples), 'aux')
    losses = {}
    for idx, head in enumerate(heads):
        losses.update(add_prefix(segmentor.head_losses(head, head(inputs), data_samples),
                                 f'aux_{idx}'))
    return losses


@MODELS.register_module()
class MultiLabelEncoderDecoder(MultiLabelSegmentorMixin, EncoderDecoder):
    """mmseg's ``EncoderDecoder`` trained and predicting multi-label.

    Any mmseg backbone/neck/decode head (HRNetV2 + FCNHead ...) with
    ``num_classes=29`` gives 29 independent logits; the losses in the
    heads' ``loss_decode`` (e.g. ``MultiLabelBCELoss`` + ``MultiLabelDiceLoss``)
    take (N, 29, H, W) targets from ``MultiLabelSegDataPreProcessor``.
    ``test_cfg``: ``mode`` ('whole' or 'slide' with ``crop_size``/``stride``),
    ``threshold`` (float or per class), ``cleanup``, ``crf``.

    Args:
        **kwargs: As for :class:`mmseg.models.EncoderDecoder`.
    """

    def _decode_head_forward_train(self, inputs: List[Tensor], data_samples) -> dict:
        logits = self.decode_head(inputs)
        return add_prefix(self.head_losses(self.decode_head, logits, data_samples), 'decode')

    def _auxiliary_head_forward_train(self, inputs: List[Tensor], data_samples) -> dict:
        return auxiliary_losses(self, inputs, data_samples)
