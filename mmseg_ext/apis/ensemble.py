"""Streaming ensemble of multi-label segmentors with their own configs.

mmengine and mmseg are imported where a config member needs them: an ensemble
of exported members (:mod:`mmseg_ext.deploy`) runs without them.
"""
from typing import List, Optional, Sequence, Union

import torch

from mmseg_ext.utils.postprocessing.mask_rule import MaskRule


class EnsembleMember:
    """One checkpoint with its own config, test pipeline and input size.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        weight (float): Weight in the probability average. Defaults to 1.
        device (str, optional): Defaults to cuda if available, else cpu.
        pipeline (list, optional): Test pipeline; defaults to the config's,
            without its annotation loading.
    """

    def __init__(self, config: str, checkpoint: str, weight: float = 1.0,
                 device: Optional[str] = None, pipeline: Optional[list] = None) -> None:
        from mmengine.config import Config
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        from mmseg.apis import init_model
        cfg = Config.fromfile(config)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.model = init_model(cfg, checkpoint, device=device)
        if pipeline is None:
            pipeline = [t for t in cfg.test_dataloader.dataset.pipeline
                        if t['type'] not in ('LoadHandBoneAnnotations', 'LoadAnnotations')]
        self.pipeline = Compose(pipeline)
        self.weight = float(weight)

    @property
    def test_cfg(self) -> dict:
        """The model's ``test_cfg`` (thresholds, cleanup, CRF)."""
        return self.model.test_cfg

    @property
    def mask_rule(self) -> MaskRule:
        """The model's thresholds, cleanup and CRF."""
        return self.model.mask_rule

    def add_probs(self, img_path: str, total: Optional[torch.Tensor] = None,
                  weight: Union[float, torch.Tensor, None] = None, **fields) -> torch.Tensor:
        """Add ``weight`` (default: the member's) x the image's (C, H, W) probabilities
        into ``total`` (:meth:`MultiLabelSegmentorMixin.predict_probs`).

        Args:
            img_path (str): The image.
            total (Tensor, optional): Running sum on the model's device; None starts one.
            weight (float | Tensor, optional): Scalar or (C, 1, 1) weight.
            **fields: More inputs of the pipeline (e.g. a crop box).
        """
        from mmengine.dataset import pseudo_collate
        data = pseudo_collate([self.pipeline(dict(img_path=img_path, **fields))])
        weight = self.weight if weight is None else weight
        return self.model.predict_probs(data, total, weight)


def ensemble_probs(members: Sequence, img_path: str,
                   class_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Weighted mean of the members' probabilities for one image, on their device.

    Args:
        members (Sequence): The models: :class:`EnsembleMember` or any object with
            ``weight`` and ``add_probs(img_path, total, weight)``, such as
            :class:`mmseg_ext.deploy.onnx_member.ExportedMember`.
        img_path (str): The image.
        class_weights (Tensor, optional): (K, C) weight of each member per
            class (e.g. from tools/analysis_tools/search_ensemble.py); by
            default each member's scalar ``weight``.

    Every member adds its probabilities into one float32 running sum, a few
    classes at a time, so memory is that sum plus ``CLASSES_PER_STEP``
    full-size planes, whatever the number of members (and of images); nothing
    is copied to the host.
    """
    total, weight_sum = None, 0.0
    for k, member in enumerate(members):
        weight = member.weight if class_weights is None \
            else class_weights[k].float().view(-1, 1, 1)
        total = member.add_probs(img_path, total, weight)
        weight_sum = weight_sum + weight
    if torch.is_tensor(weight_sum):
        weight_sum = weight_sum.to(total.device)
    return total.div_(weight_sum)


def ensemble_masks(members: Sequence, img_path: str, rule: MaskRule,
                   class_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(C, H, W) bool masks of one image: the members' weighted mean probability
    (:func:`ensemble_probs`), then ``rule``; on the members' device."""
    return rule(ensemble_probs(members, img_path, class_weights), img_path)


def parse_member(spec: str) -> List[str]:
    """``CONFIG:CKPT[:WEIGHT]`` -> [config, checkpoint, weight]."""
    parts = spec.split(':')
    if len(parts) not in (2, 3):
        raise ValueError(f'--model takes CONFIG:CKPT[:WEIGHT], got {spec!r}')
    return parts + ['1.0'] * (3 - len(parts))
