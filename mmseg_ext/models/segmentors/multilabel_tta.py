"""Test-time augmentation for independent sigmoid channels, merged from test-size logits."""
from typing import List

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.postprocessing.box_merge import SPACES, ViewStack, rule_masks


@MODELS.register_module()
class MultiLabelTTAModel(SegTTAModel):
    """Merges the views per class (never across classes), then applies the mask rule once.

    mmseg's ``SegTTAModel`` softmaxes across channels (wrong for bones that
    overlap) and keeps every view's full-size prediction until the merge. Here
    each view's test-size logits are flipped/rotated back and kept
    (:meth:`MultiLabelSegmentorMixin.predict_views`); the merge computes each
    class only on the box where it can pass the threshold
    (:func:`~mmseg_ext.utils.postprocessing.box_merge.rule_masks`, the same merge
    as an ensemble member with ``tta=True``), so no full-size float tensor
    exists; a dense CRF merges at the full size. Views may also be
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
        """Predict the views one at a time, then merge each image's views."""
        if not isinstance(data, dict):
            raise TypeError(f'MultiLabelTTAModel expects a dict batch, got {type(data)}')
        stacks = self.module.predict_views(data, self.merge)
        firsts = data['data_samples'][0]  # the first view's samples (metadata, ground truth)
        return [self.merged_sample(stack, first) for stack, first in zip(stacks, firsts)]

    def merged_sample(self, stack: ViewStack, first: SegDataSample) -> SegDataSample:
        """The image's sample (first view's metadata and ground truth) with the rule's masks."""
        rule = self.module.mask_rule
        image = read_xray(first.metainfo['img_path']) if rule.crf else None
        masks = rule_masks([stack], [1.0], rule, image)
        sample = SegDataSample(metainfo=first.metainfo)
        sample.set_data({'pred_sem_seg': PixelData(data=masks)})
        if 'gt_sem_seg' in first:
            sample.gt_sem_seg = first.gt_sem_seg
        return sample

    def merge_preds(self, data_samples_list):
        """Not used: views are merged from their logits in :meth:`test_step`; a
        view's final masks cannot be averaged."""
        raise NotImplementedError('MultiLabelTTAModel merges views in test_step')
