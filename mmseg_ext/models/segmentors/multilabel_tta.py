"""Test-time augmentation for independent sigmoid channels."""
from typing import List

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


@MODELS.register_module()
class MultiLabelTTAModel(SegTTAModel):
    """Averages the views' per-class probabilities, then thresholds each class.

    mmseg's ``SegTTAModel`` softmaxes across channels (wrong for bones that
    overlap). Each view's prediction has already been flipped back and
    resized to the original size by the segmentor, so the views align.

    Args:
        module (dict): The segmentor config (``test_cfg.threshold`` is used).
        **kwargs: As for :class:`mmseg.models.SegTTAModel`.
    """

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]) -> List[SegDataSample]:
        merged = []
        for views in data_samples_list:
            probs = torch.stack([v.seg_logits.data for v in views]).mean(dim=0)
            thresholds = self.module.class_thresholds(probs.shape[0], probs.device)
            sample = SegDataSample(metainfo=views[0].metainfo)
            sample.set_data({'seg_logits': PixelData(data=probs),
                             'pred_sem_seg': PixelData(data=probs > thresholds)})
            if 'gt_sem_seg' in views[0]:
                sample.gt_sem_seg = views[0].gt_sem_seg
            merged.append(sample)
        return merged
