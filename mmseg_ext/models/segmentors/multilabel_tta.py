"""Test-time augmentation for independent sigmoid channels, merged as views arrive."""
from typing import List, Optional, Sequence

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.utils.mask_rule import MaskRule

MERGE_MODES = ('prob', 'logit', 'vote')


class ViewMerger:
    """Running per-class merge of one image's views, on the views' device.

    Keeps one running sum (float32 probabilities or logits) or one uint8
    vote count, whatever the number of views, so memory is flat in it.

    Args:
        merge (str): 'prob', 'logit' or 'vote'.
        rule (MaskRule): The segmentor's thresholds and cleanup.
        num_classes (int): Channels of the views.
        device (torch.device): Where the views are.
        keep_probs (bool): Also return the merged probabilities.
    """

    def __init__(self, merge: str, rule: MaskRule, num_classes: int, device: torch.device,
                 keep_probs: bool) -> None:
        self.merge = merge
        self.rule = rule
        self.thresholds = rule.thresholds(num_classes, device)
        self.keep_probs = keep_probs
        self.views = 0
        self.total: Optional[torch.Tensor] = None  # sum of probabilities or of logits
        self.votes: Optional[torch.Tensor] = None
        self.metainfo: dict = {}
        self.gt_sem_seg: Optional[PixelData] = None

    def add(self, view: SegDataSample) -> None:
        """Fold one view's (C, H, W) probabilities into the running merge."""
        probs = view.seg_logits.data.float()
        if self.views == 0:  # keep the metadata and ground truth, not the view's tensors
            self.metainfo = view.metainfo
            self.gt_sem_seg = view.get('gt_sem_seg')
        self.views += 1
        if self.merge == 'vote':
            above = (probs > self.thresholds).to(torch.uint8)
            self.votes = above if self.votes is None else self.votes.add_(above)
            if not self.keep_probs:
                return
        if self.merge == 'logit':
            value = torch.logit(probs.clamp(1e-6, 1 - 1e-6))
        else:
            value = probs.clone() if self.total is None else probs  # never alter the view
        self.total = value if self.total is None else self.total.add_(value)

    def result(self) -> SegDataSample:
        """The merged sample: bool masks (the rule's thresholds, then its cleanup or CRF;
        a vote is thresholded per view), probabilities if kept."""
        sample = SegDataSample(metainfo=self.metainfo)
        probs = None
        if self.total is not None:
            mean = self.total.div_(self.views)
            probs = mean.sigmoid_() if self.merge == 'logit' else mean
        if self.merge == 'vote':
            mask = self.rule.finish(self.votes.to(torch.int32) * 2 > self.views)
        else:
            mask = self.rule(probs, self.metainfo.get('img_path'))
        sample.set_data({'pred_sem_seg': PixelData(data=mask)})
        if self.keep_probs:
            sample.set_data({'seg_logits': PixelData(data=probs)})
        if self.gt_sem_seg is not None:
            sample.gt_sem_seg = self.gt_sem_seg
        return sample


@MODELS.register_module()
class MultiLabelTTAModel(SegTTAModel):
    """Merges the views per class (never across classes), then thresholds.

    mmseg's ``SegTTAModel`` softmaxes across channels (wrong for bones that
    overlap) and keeps every view's prediction until the merge. Here each
    view is predicted, folded into a running sum (or vote count) on the
    model's device and dropped, so memory does not grow with the number of
    views. Each view's prediction has already been flipped back and resized
    to the original size by the segmentor, so the views align. Views may also
    be photometric (e.g. mmseg's ``AdjustGamma`` or ``CLAHE`` in the
    ``tta_pipeline``). The segmentor's ``test_cfg.threshold`` and
    ``test_cfg.cleanup`` apply to the merged prediction.

    Args:
        module (dict): The segmentor config.
        merge (str): 'prob' averages probabilities, 'logit' averages logits
            (then sigmoid), 'vote' keeps pixels that more than half of the
            views put above the threshold. Defaults to 'prob'.
        output_probs (bool): Keep the merged probabilities in ``seg_logits``;
            by default only the masks (all the metric and the CSV need).
        **kwargs: As for :class:`mmseg.models.SegTTAModel`.
    """

    def __init__(self, module: dict, merge: str = 'prob', output_probs: bool = False,
                 **kwargs) -> None:
        if merge not in MERGE_MODES:
            raise ValueError(f"merge must be 'prob', 'logit' or 'vote', got {merge!r}")
        super().__init__(module=module, **kwargs)
        self.merge = merge
        self.output_probs = output_probs
        self.module.test_cfg['output_probs'] = True  # each view's probabilities are merged

    def _merger(self, view: SegDataSample) -> ViewMerger:
        probs = view.seg_logits.data
        return ViewMerger(self.merge, self.module.mask_rule, probs.shape[0], probs.device,
                          self.output_probs)

    def test_step(self, data) -> List[SegDataSample]:
        """Predict the views one at a time, merging each into a running sum."""
        if not isinstance(data, dict):
            raise TypeError(f'MultiLabelTTAModel expects a dict batch, got {type(data)}')
        num_views = len(data[next(iter(data))])
        mergers: List[ViewMerger] = []
        for index in range(num_views):
            view_batch = {key: value[index] for key, value in data.items()}
            for position, view in enumerate(self.module.test_step(view_batch)):
                if position == len(mergers):
                    mergers.append(self._merger(view))
                mergers[position].add(view)
        return [merger.result() for merger in mergers]

    def merge_preds(self, data_samples_list: Sequence[Sequence[SegDataSample]]
                    ) -> List[SegDataSample]:
        """Merge already predicted views (mmengine's interface)."""
        merged = []
        for views in data_samples_list:
            merger = self._merger(views[0])
            for view in views:
                merger.add(view)
            merged.append(merger.result())
        return merged
