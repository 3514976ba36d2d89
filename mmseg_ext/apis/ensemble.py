"""Streaming ensemble of multi-label segmentors with their own configs.

mmengine and mmseg are imported where a config member needs them: an ensemble
of exported members (:mod:`mmseg_ext.deploy`) runs without them.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from mmseg_ext.deploy.spec import ANNOTATION_LOADERS
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.postprocessing.box_merge import ViewStack, rule_masks
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from mmseg_ext.utils.postprocessing.raw_views import RawViews


def without_annotations(pipeline: Sequence[dict]) -> List[dict]:
    """``pipeline`` without its annotation loading (inside ``TestTimeAug`` too).

    Args:
        pipeline (Sequence[dict]): Test pipeline step configs.
    """
    steps = []
    for step in pipeline:
        if step['type'] in ANNOTATION_LOADERS:
            continue
        if step['type'] == 'TestTimeAug':
            step = dict(step, transforms=[
                without_annotations(group) for group in step['transforms']])
        steps.append(step)
    return steps


class CheckpointMember:
    """One checkpoint with its own config, test pipeline and input size.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        weight (float): Weight in the probability average. Defaults to 1.
        device (str, optional): Defaults to cuda if available, else cpu.
        pipeline (list, optional): Test pipeline; defaults to the config's
            (its ``tta_pipeline`` with ``tta``), without its annotation loading.
        tta (bool): Predict the views of the config's ``tta_pipeline`` and merge
            them as ``tools/test.py --tta`` does (the config's ``tta_model.merge``,
            default 'prob'). Defaults to False.
    """

    def __init__(self, config: str, checkpoint: str, weight: float = 1.0,
                 device: Optional[str] = None, pipeline: Optional[list] = None,
                 tta: bool = False) -> None:
        from mmengine.dataset import Compose

        from .inference import build_model
        self.model = build_model(config, checkpoint, device)
        cfg = self.model.cfg
        if pipeline is None:
            pipeline = without_annotations(
                cfg.tta_pipeline if tta else cfg.test_dataloader.dataset.pipeline)
        self.pipeline = Compose(pipeline)
        self.weight = float(weight)
        self.tta = tta
        self.merge = (cfg.get('tta_model') or {}).get('merge', 'prob') if tta else 'prob'

    @property
    def mask_rule(self) -> MaskRule:
        """The model's thresholds, cleanup and CRF."""
        return self.model.mask_rule

    @torch.no_grad()
    def raw_views(self, img_path: str, **fields) -> RawViews:
        """The image's views (one, or the TTA views) as the network gave them
        (:meth:`MultiLabelSegmentorMixin.predict_raw_views`): what the out-of-fold files
        store.

        Args:
            img_path (str): The image.
            **fields: More inputs of the pipeline (e.g. a crop box).
        """
        from mmengine.dataset import pseudo_collate
        data = pseudo_collate([self.pipeline(dict(img_path=img_path, **fields))])
        if not self.tta:  # one view
            data = {key: [value] for key, value in data.items()}
        return self.model.predict_raw_views(data, self.merge)[0]

    def views(self, img_path: str, **fields) -> ViewStack:
        """The image's views as test-size logits with their test transforms undone
        (:meth:`raw_views`, stacked).

        Args:
            img_path (str): The image.
            **fields: More inputs of the pipeline (e.g. a crop box).
        """
        return self.raw_views(img_path, **fields).stack()

    def add_probs(self, img_path: str, total: Optional[torch.Tensor] = None,
                  weight: Union[float, torch.Tensor, None] = None, **fields) -> torch.Tensor:
        """Add ``weight`` (default: the member's) x the image's (C, H, W) probabilities
        into ``total``: the full-plane path
        (:meth:`~mmseg_ext.utils.postprocessing.box_merge.ViewStack.add_dense`).

        Args:
            img_path (str): The image.
            total (Tensor, optional): Running sum on the model's device; None starts one.
            weight (float | Tensor, optional): Scalar or (C, 1, 1) weight.
            **fields: More inputs of the pipeline (e.g. a crop box).
        """
        weight = self.weight if weight is None else weight
        return self.views(img_path, **fields).add_dense(total, weight)


def member_weights(members: Sequence, class_weights: Optional[torch.Tensor] = None) -> list:
    """Per member, its scalar ``weight``, or its (C, 1, 1) row of ``class_weights``.

    Args:
        members (Sequence): The members (objects with a ``weight``).
        class_weights (Tensor, optional): (K, C) weight of each of the K members per
            class; None: each member's ``weight``.
    """
    if class_weights is None:
        return [member.weight for member in members]
    return [class_weights[k].float().view(-1, 1, 1) for k in range(len(members))]


def ensemble_probs(members: Sequence, img_path: str,
                   class_weights: Optional[torch.Tensor] = None, **fields) -> torch.Tensor:
    """Weighted mean of the members' probabilities for one image, on their device.

    The full-plane path, for a dense CRF and callers that need probabilities;
    :func:`ensemble_masks` gives the masks without them.

    Args:
        members (Sequence): The models: :class:`CheckpointMember` or any object with
            ``weight`` and ``add_probs(img_path, total, weight)``, such as
            :class:`mmseg_ext.deploy.onnx_member.ExportedMember`.
        img_path (str): The image.
        class_weights (Tensor, optional): (K, C) weight of each member per
            class (e.g. from tools/analysis_tools/search_ensemble.py); by
            default each member's scalar ``weight``.
        **fields: More pipeline inputs of the members (e.g. a crop box).
    """
    total, weight_sum = None, 0.0
    for member, weight in zip(members, member_weights(members, class_weights)):
        total = member.add_probs(img_path, total, weight, **fields)
        weight_sum = weight_sum + weight
    if torch.is_tensor(weight_sum):
        weight_sum = weight_sum.to(total.device)
    return total.div_(weight_sum)


def ensemble_masks(members: Sequence, img_path: str, rule: MaskRule,
                   class_weights: Optional[torch.Tensor] = None,
                   image: Optional[np.ndarray] = None, **fields) -> torch.Tensor:
    """(C, H, W) bool masks at the original size of the members' weighted mean.

    The result of ``rule(ensemble_probs(members, img_path, class_weights), image)``
    (up to float rounding of probabilities within ~1e-7 of a threshold) without the
    full-size probabilities: each member gives its views' test-size
    logits (``views``) and each class is computed only on the box where the
    mean can pass its threshold
    (:func:`~mmseg_ext.utils.postprocessing.box_merge.rule_masks`). A rule with
    ``crf`` takes the full-plane path (:func:`ensemble_probs`).

    Args:
        members (Sequence): :class:`CheckpointMember` s or any objects with ``weight``
            and ``views(img_path, **fields)`` (e.g.
            :class:`mmseg_ext.deploy.onnx_member.ExportedMember`).
        img_path (str): The image.
        rule (MaskRule): Thresholds, cleanup and CRF.
        class_weights (Tensor, optional): (K, C) weight of each member per class;
            by default each member's scalar ``weight``.
        image (np.ndarray, optional): The (H, W) grey pixels the members predict, for a
            CRF; by default the image read from ``img_path``.
        **fields: More pipeline inputs of the members (e.g. a crop box). Several
            members share one reading of the image (``xray``).
    """
    if 'xray' not in fields and (len(members) > 1 or (rule.crf and image is None)):
        fields = dict(fields, xray=read_xray(img_path))
    if rule.crf:
        image = fields['xray'] if image is None else image
        return rule(ensemble_probs(members, img_path, class_weights, **fields), image)
    stacks = [member.views(img_path, **fields) for member in members]
    return rule_masks(stacks, member_weights(members, class_weights), rule)
