"""Test-time augmentation for independent sigmoid channels, merged as views arrive."""
from typing import List, Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.utils.postprocessing.original_size import SPACES


@MODELS.register_module()
class MultiLabelTTAModel(SegTTAModel):
    """Merges the views per class (never across classes), then applies the mask rule once.

    mmseg's ``SegTTAModel`` softmaxes across channels (wrong for bones that
    overlap) and keeps every view's prediction until the merge. Here each
    view's logits are flipped/rotated back and added, a few classes at a time
    at the original size, into one running sum per image on the model's device
    (:meth:`MultiLabelSegmentorMixin.add_original_size`), so memory is that
    sum plus ``CLASSES_PER_STEP`` planes whatever the number of views. Views may also be
    photometric (e.g. mmseg's ``AdjustGamma`` or ``CLAHE`` in the
    ``tta_pipeline``). The segmentor's mask rule (``test_cfg`` threshold,
    cleanup, CRF) runs once per image, on the merge.

    Args:
        module (dict): The segmentor config.
        merge (str): 'prob' averages probabilities, 'logit' averages logits
            (then sigmoid), 'vote' keeps pixels that more than half of the
            views put above the threshold (then cleanup; no CRF). Defaults to 'prob'.
        **kwargs: As for :class:`mmseg.models.SegTTAModel`.
    """

    def __init__(self, module: dict, merge: str = 'prob', **kwargs) -> None:
        if merge not in SPACES:
            raise ValueError(f"merge must be 'prob', 'logit' or 'vote', got {merge!r}")
        super().__init__(module=module, **kwargs)
        self.merge = merge

    @torch.no_grad()
    def test_step(self, data) -> List[SegDataSample]:
        """Predict the views one at a time, adding each into a running sum per image."""
        if not isinstance(data, dict):
            raise TypeError(f'MultiLabelTTAModel expects a dict batch, got {type(data)}')
        num_views = len(data[next(iter(data))])
        totals: List[Optional[torch.Tensor]] = []
        firsts: List[SegDataSample] = []
        for index in range(num_views):
            view = self.module.data_preprocessor(
                {key: value[index] for key, value in data.items()}, False)
            metas = [sample.metainfo for sample in view['data_samples']]
            logits = self.module.inference(view['inputs'], metas)
            if index == 0:
                totals, firsts = [None] * len(metas), list(view['data_samples'])
            for i, meta in enumerate(metas):
                totals[i] = self.module.add_original_size(logits[i], meta, totals[i],
                                                          space=self.merge)
        return [self.merged_sample(total, first, num_views)
                for total, first in zip(totals, firsts)]

    def merged_sample(self, total: torch.Tensor, first: SegDataSample,
                      num_views: int) -> SegDataSample:
        """The image's sample (first view's metadata and ground truth) with the rule's masks."""
        rule = self.module.mask_rule
        if self.merge == 'vote':
            masks = rule.finish(total * 2 > num_views)
        else:
            mean = total.div_(num_views)
            probs = mean.sigmoid_() if self.merge == 'logit' else mean
            masks = rule(probs, first.metainfo.get('img_path'))
        sample = SegDataSample(metainfo=first.metainfo)
        sample.set_data({'pred_sem_seg': PixelData(data=masks)})
        if 'gt_sem_seg' in first:
            sample.gt_sem_seg = first.gt_sem_seg
        return sample

    def merge_preds(self, data_samples_list):
        """Not used: views are merged from their logits in :meth:`test_step`; a
        view's final masks cannot be averaged."""
        raise NotImplementedError('MultiLabelTTAModel merges views in test_step')
