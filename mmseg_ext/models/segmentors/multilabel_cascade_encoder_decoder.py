"""CascadeEncoderDecoder (e.g. HRNet + OCR) with independent sigmoid channels."""
from typing import List

from mmseg.models.segmentors import CascadeEncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import add_prefix
from torch import Tensor

from .multilabel_encoder_decoder import auxiliary_losses
from .multilabel_mixin import MultiLabelSegmentorMixin


@MODELS.register_module()
class MultiLabelCascadeEncoderDecoder(MultiLabelSegmentorMixin, CascadeEncoderDecoder):
    """mmseg's ``CascadeEncoderDecoder`` trained and predicting multi-label.

    Each stage's logits (the OCR head takes the previous stage's logits as
    its soft object regions) get that stage's ``loss_decode``; logs are
    ``decode_<i>.<loss>``.

    Args:
        **kwargs: As for :class:`mmseg.models.CascadeEncoderDecoder`.
    """

    def decode_logits(self, feats: List[Tensor]) -> Tensor:
        """The last stage's logits; each stage after the first takes the previous
        stage's logits (FCN -> OCR)."""
        logits = self.decode_head[0].forward(feats)
        for head in self.decode_head[1:]:
            logits = head.forward(feats, logits)
        return logits

    def _decode_head_forward_train(self, inputs: List[Tensor], data_samples) -> dict:
        losses = {}
        prev_logits = None
        for i, head in enumerate(self.decode_head):
            logits = head(inputs) if prev_logits is None else head(inputs, prev_logits)
            losses.update(add_prefix(self.head_losses(head, logits, data_samples),
                                     f'decode_{i}'))
            prev_logits = logits
        return losses

    def _auxiliary_head_forward_train(self, inputs: List[Tensor], data_samples) -> dict:
        return auxiliary_losses(self, inputs, data_samples)
