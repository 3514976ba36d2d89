"""From probabilities to final masks: one description, one owner.

A :class:`MaskRule` holds the per-class ``threshold``, the optional
``cleanup`` and ``crf`` of a model's ``test_cfg`` (or of a ``tools/find_best.py``
recipe). The segmentors, the TTA model, the ensemble, the two-stage tools and the
out-of-fold search all turn probabilities into masks through it.

Without a recipe, thresholds come from, highest precedence first: a thresholds JSON
(``--thresholds``), the model config's ``test_cfg.threshold``, then 0.5 (see
:func:`mask_rule_for`).
"""
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from .mask_cleanup import clean_masks

Threshold = Union[float, Sequence[float]]


def cleanup_steps(cleanup: Union[Mapping, Sequence[Mapping], None]) -> List[dict]:
    """A ``cleanup`` (one dict of :func:`clean_masks` arguments, or a list of them) as the
    list of steps applied in turn.

    Args:
        cleanup (dict | list[dict], optional): ``test_cfg.cleanup`` or a recipe's.
    """
    if not cleanup:
        return []
    if isinstance(cleanup, Mapping):
        return [dict(cleanup)]
    return [dict(step) for step in cleanup]


class MaskRule:
    """Per-class threshold, then optional dense CRF or cleanup: probabilities -> masks.

    Args:
        threshold (float | Sequence[float]): One threshold, or one per class.
            A pixel is foreground where its probability is above it.
        cleanup (dict | list[dict], optional): Arguments of
            :func:`mmseg_ext.utils.postprocessing.mask_cleanup.clean_masks`, applied to the
            thresholded masks; a list applies each in turn (e.g. each with its own
            ``classes``: a cleanup per class, as ``tools/find_best.py`` chooses).
        crf (bool): Refine with a dense CRF on the image instead of the
            threshold (optional ``pydensecrf2``). Defaults to False.
    """

    # The test_cfg keys of a mask rule.
    KEYS = ('threshold', 'cleanup', 'crf')

    def __init__(self, threshold: Threshold = 0.5, cleanup: Optional[dict] = None,
                 crf: bool = False) -> None:
        self.threshold = threshold
        self.cleanup = cleanup_steps(cleanup) or None
        self.crf = crf

    @classmethod
    def from_test_cfg(cls, test_cfg: Optional[Mapping]) -> 'MaskRule':
        """The rule a model's ``test_cfg`` describes.

        Args:
            test_cfg (Mapping, optional): A model's ``test_cfg``; its :attr:`KEYS` are read,
                others ignored. None: all defaults.
        """
        test_cfg = test_cfg or {}
        return cls(test_cfg.get('threshold', 0.5), test_cfg.get('cleanup'),
                   bool(test_cfg.get('crf', False)))

    def thresholds(self, num_classes: int, device=None) -> torch.Tensor:
        """(C, 1, 1) float32 thresholds.

        Args:
            num_classes (int): Number of classes C.
            device (torch.device | str, optional): Device of the result.

        Raises:
            ValueError: A threshold list of another length than C.
        """
        values = torch.as_tensor(self.threshold, dtype=torch.float32, device=device).flatten()
        if values.numel() == 1:
            values = values.expand(num_classes)
        if values.numel() != num_classes:
            raise ValueError(f'threshold has {values.numel()} values for {num_classes} classes')
        return values.reshape(-1, 1, 1)

    def finish(self, masks: torch.Tensor) -> torch.Tensor:
        """Apply ``cleanup`` to (C, H, W) masks thresholded elsewhere (e.g. in logit
        space, or by vote).

        Args:
            masks (Tensor): (C, H, W) bool masks.

        Returns:
            Tensor: The cleaned masks on the same device (``masks`` itself without
            ``cleanup``).
        """
        for step in self.cleanup or []:
            masks = clean_masks(masks, **step)
        return masks

    def __call__(self, probs: torch.Tensor, image: Optional[np.ndarray] = None) -> torch.Tensor:
        """(C, H, W) probabilities -> bool masks on the same device.

        Args:
            probs (Tensor): Probabilities at the image's original size.
            image (np.ndarray, optional): The (H, W) uint8 grey X-ray
                (:func:`~mmseg_ext.utils.fileio.xray_io.read_xray`); needed for ``crf``.

        Raises:
            ValueError: ``crf`` without ``image``, or a threshold list of another length
                than the number of classes.
        """
        if self.crf:
            from .dense_crf import dense_crf_masks
            if image is None:
                raise ValueError('MaskRule(crf=True) needs the image')
            masks = torch.from_numpy(dense_crf_masks(image, probs.float().cpu().numpy()))
            return self.finish(masks.to(probs.device))
        return self.finish(probs > self.thresholds(probs.shape[0], probs.device))


def mask_rule_for(base: Union['MaskRule', Mapping, None],
                  json_thresholds: Optional[Sequence[float]] = None,
                  crf: Optional[bool] = None) -> MaskRule:
    """A copy of ``base`` (a rule, or a model's ``test_cfg``), its thresholds overridden by
    ``json_thresholds`` (:func:`~mmseg_ext.utils.formats.thresholds_json.load_thresholds` of
    ``--thresholds``) when given, else the base's threshold, else 0.5; ``crf`` overrides the
    base's ``crf`` when given. The one owner of that order: ``tools/test.py`` and
    ``tools/predict.py`` both ask it.

    Args:
        base (MaskRule | Mapping, optional): The rule or ``test_cfg`` to start from.
        json_thresholds (Sequence[float], optional): Per-class thresholds of ``--thresholds``.
        crf (bool, optional): Overrides the base's ``crf``; None keeps it.
    """
    if isinstance(base, MaskRule):
        rule = MaskRule(base.threshold, base.cleanup, base.crf)
    else:
        rule = MaskRule.from_test_cfg(base)
    if json_thresholds is not None:
        rule.threshold = list(json_thresholds)
    if crf is not None:
        rule.crf = crf
    return rule
