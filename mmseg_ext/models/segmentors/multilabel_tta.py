"""Test-time augmentation for independent sigmoid channels."""
from typing import List

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


@MODELS.register_module()
class MultiLabelTTAModel(SegTTAModel):
    """Merges the views per class (never across classes), then thresholds.

    mmseg's ``SegTTAModel`` softmaxes across channels (wrong for bones that
    overlap). Each view's prediction has already been flipped back and
    resized to the original size by the segmentor, so the views align.
    Views may also be photometric (e.g. mmseg's ``AdjustGamma`` or ``CLAHE``
    in the ``tta_pipeline``).

    Args:
        module (dict): The segmentor config (``test_cfg.threshold`` is used).
        merge (str): 'prob' averages probabilities, 'logit' averages logits
            (then sigmoid), 'vote' keeps pixels that more than half of the
            views put above the threshold. Defaults to 'prob'.
        **kwargs: As for :class:`mmseg.models.SegTTAModel`.
    """

    def __init__(self, module: dict, merge: str = 'prob', **kwargs) -> None:
        if merge not in ('prob', 'logit', 'vote'):
            raise ValueError(f"merge must be 'prob', 'logit' or 'vote', got {merge!r}")
        super().__init__(module=module, **kwargs)
        self.merge = merge

    def _merge_views(self, probs: torch.Tensor, thresholds: torch.Tensor) -> tuple:
        """(V, C, H, W) view probabilities -> merged probabilities and mask."""
        if self.merge == 'logit':
            merged = torch.logit(probs.clamp(1e-6, 1 - 1e-6)).mean(dim=0).sigmoid()
            return merged, merged > thresholds
        merged = probs.mean(dim=0)
        if self.merge == 'vote':
            votes = (probs > thresholds).sum(dim=0)
            return merged, votes * 2 > probs.shape[0]
        return merged, merged > thresholds

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]) -> List[SegDataSample]:
        merged = []
        for views in data_samples_list:
            probs = torch.stack([v.seg_logits.data for v in views])
            thresholds = self.module.class_thresholds(probs.shape[1], probs.device)
            mean, mask = self._merge_views(probs, thresholds)
            sample = SegDataSample(metainfo=views[0].metainfo)
            sample.set_data({'seg_logits': PixelData(data=mean),
                             'pred_sem_seg': PixelData(data=mask)})
            if 'gt_sem_seg' in views[0]:
                sample.gt_sem_seg = views[0].gt_sem_seg
            merged.append(sample)
        return merged
