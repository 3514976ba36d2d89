"""The multi-label training and prediction path shared by all our segmentors."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from torch import Tensor


def padding_of(meta: dict) -> List[int]:
    """(left, right, top, bottom) padding that the data preprocessor added."""
    return list(meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0])))


def valid_pixel_mask(data_samples: Sequence[SegDataSample], size: Sequence[int],
                     device: torch.device) -> Optional[Tensor]:
    """(N, 1, H, W) mask that is False on padding, or None when nothing is padded."""
    paddings = [padding_of(s.metainfo) for s in data_samples]
    if not any(any(p) for p in paddings):
        return None
    height, width = size
    valid = torch.zeros((len(paddings), 1, height, width), dtype=torch.bool, device=device)
    for i, (left, right, top, bottom) in enumerate(paddings):
        valid[i, :, top:height - bottom, left:width - right] = True
    return valid


def restore_to_original(logits: Tensor, meta: dict, align_corners: bool) -> Tensor:
    """Undo padding and flip of (1, C, H, W) logits and resize to ``ori_shape``."""
    height, width = logits.shape[-2:]
    left, right, top, bottom = padding_of(meta)
    logits = logits[..., top:height - bottom, left:width - right]
    if meta.get('flip', False):
        direction = meta.get('flip_direction', 'horizontal')
        logits = logits.flip(dims=(3, ) if direction == 'horizontal' else (2, ))
    return resize(logits, size=meta['ori_shape'], mode='bilinear',
                  align_corners=align_corners, warning=False)


class MultiLabelSegmentorMixin:
    """Sigmoid-per-class losses and thresholded prediction for EncoderDecoders.

    Mixed into mmseg's ``EncoderDecoder`` and ``CascadeEncoderDecoder``: the
    heads only produce logits (``head.forward``); the losses in each head's
    ``loss_decode`` are applied here to (N, C, H, W) targets, ignoring padded
    pixels; prediction resizes logits to the original image size, then
    thresholds each class independently (never argmax).

    ``test_cfg`` keys read here: ``threshold`` (float or one per class,
    default 0.5) and ``output_probs`` (keep the (C, H, W) probabilities in
    ``seg_logits``; default True).
    """

    def head_losses(self, head: nn.Module, logits: Tensor,
                    data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """Apply ``head.loss_decode`` to logits resized to the target size."""
        target = torch.stack([s.gt_sem_seg.data for s in data_samples])
        logits = resize(logits, size=target.shape[2:], mode='bilinear',
                        align_corners=head.align_corners)
        valid = valid_pixel_mask(data_samples, target.shape[2:], logits.device)
        loss_fns = head.loss_decode if isinstance(head.loss_decode, nn.ModuleList) \
            else [head.loss_decode]
        losses: Dict[str, Tensor] = {}
        for loss_fn in loss_fns:
            value = loss_fn(logits, target, valid)
            losses[loss_fn.loss_name] = losses.get(loss_fn.loss_name, 0) + value
        return losses

    def class_thresholds(self, num_classes: int, device: torch.device) -> Tensor:
        """(C, 1, 1) thresholds from ``test_cfg.threshold``."""
        threshold: Union[float, Sequence[float]] = self.test_cfg.get('threshold', 0.5)
        values = torch.as_tensor(threshold, dtype=torch.float32, device=device).flatten()
        if values.numel() == 1:
            values = values.expand(num_classes)
        if values.numel() != num_classes:
            raise ValueError(f'test_cfg.threshold has {values.numel()} values for '
                             f'{num_classes} classes')
        return values.view(-1, 1, 1)

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[List[SegDataSample]] = None
                           ) -> List[SegDataSample]:
        """Per sample: original-size probabilities and thresholded (C, H, W) masks."""
        num_images, num_classes = seg_logits.shape[:2]
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=seg_logits.shape[2:]))
                            for _ in range(num_images)]
        thresholds = self.class_thresholds(num_classes, seg_logits.device)
        for i, sample in enumerate(data_samples):
            logits = restore_to_original(seg_logits[i:i + 1], sample.metainfo,
                                         self.align_corners)[0]
            probs = logits.sigmoid()
            sample.set_data({'pred_sem_seg': PixelData(data=probs > thresholds)})
            if self.test_cfg.get('output_probs', True):
                sample.set_data({'seg_logits': PixelData(data=probs)})
        return data_samples
