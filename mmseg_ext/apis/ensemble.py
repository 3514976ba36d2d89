"""Streaming ensemble of multi-label segmentors with their own configs.

mmengine and mmseg are imported where a config member needs them: an ensemble
of exported members (:mod:`mmseg_ext.deploy`) runs without them.
"""
from typing import List, Optional, Sequence

import torch


class EnsembleMember:
    """One checkpoint with its own config, test pipeline and input size.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file.
        weight (float): Weight in the probability average. Defaults to 1.
        device (str, optional): Defaults to cuda if available, else cpu.
    """

    def __init__(self, config: str, checkpoint: str, weight: float = 1.0,
                 device: Optional[str] = None) -> None:
        from mmengine.config import Config
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        from mmseg.apis import init_model
        cfg = Config.fromfile(config)
        cfg.model.test_cfg['output_probs'] = True
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.model = init_model(cfg, checkpoint, device=device)
        pipeline = [t for t in cfg.test_dataloader.dataset.pipeline
                    if t['type'] not in ('LoadHandBoneAnnotations', 'LoadAnnotations')]
        self.pipeline = Compose(pipeline)
        self.weight = float(weight)

    @property
    def test_cfg(self) -> dict:
        """The model's ``test_cfg`` (thresholds, cleanup)."""
        return self.model.test_cfg

    @property
    def mask_rule(self):
        """The model's :class:`~mmseg_ext.utils.mask_rule.MaskRule`."""
        return self.model.mask_rule

    def add_probs(self, img_path: str, total: Optional[torch.Tensor],
                  weight=1.0) -> torch.Tensor:
        """Add ``weight`` x the (C, H, W) probabilities of ``img_path`` into ``total``
        (None starts a sum); see :meth:`MultiLabelSegmentorMixin.add_probs`."""
        from mmengine.dataset import pseudo_collate
        data = pseudo_collate([self.pipeline(dict(img_path=img_path))])
        return self.model.add_probs(data, total, weight)

    @torch.no_grad()
    def predict_probs(self, img_path: str) -> torch.Tensor:
        """(C, H, W) probabilities at the image's original size."""
        from mmengine.dataset import pseudo_collate
        data = self.pipeline(dict(img_path=img_path))
        return self.model.test_step(pseudo_collate([data]))[0].seg_logits.data


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

    Every member adds its probabilities into one float32 running sum, class
    by class (:meth:`MultiLabelSegmentorMixin.add_probs`), so memory is that
    sum plus one full-size plane, whatever the number of members (and of
    images); nothing is copied to the host.
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


def parse_member(spec: str) -> List[str]:
    """``CONFIG:CKPT[:WEIGHT]`` -> [config, checkpoint, weight]."""
    parts = spec.split(':')
    if len(parts) not in (2, 3):
        raise ValueError(f'--model takes CONFIG:CKPT[:WEIGHT], got {spec!r}')
    return parts + ['1.0'] * (3 - len(parts))
