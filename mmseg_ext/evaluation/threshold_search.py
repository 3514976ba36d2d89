"""Per-class threshold search on validation probabilities (competition Dice)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from mmseg_ext.utils.mask_cleanup import clean_masks
from .metrics.dice_metric import dice_counts, dice_from_counts


class ThresholdSearch:
    """Accumulates per-image Dice counts for a grid of thresholds.

    Args:
        thresholds (Sequence[float]): Candidate thresholds.
        cleanup (dict, optional): Also score masks after
            :func:`clean_masks` with these arguments at each threshold.
    """

    def __init__(self, thresholds: Sequence[float], cleanup: Optional[dict] = None) -> None:
        self.thresholds = [float(t) for t in thresholds]
        self.cleanup = cleanup
        self.counts: List[np.ndarray] = []          # per image: (T, 3, C)
        self.cleaned_counts: List[np.ndarray] = []  # same, after cleanup

    def add(self, probs: torch.Tensor, gt: torch.Tensor) -> None:
        """Add one image: (C, H, W) probabilities and (C, H, W) bool ground truth."""
        per_t, cleaned = [], []
        for t in self.thresholds:
            pred = probs > t
            per_t.append(dice_counts(pred, gt))
            if self.cleanup:
                cleaned.append(dice_counts(clean_masks(pred, **self.cleanup), gt))
        self.counts.append(np.stack(per_t))
        if self.cleanup:
            self.cleaned_counts.append(np.stack(cleaned))

    @staticmethod
    def dice_table(counts: List[np.ndarray]) -> np.ndarray:
        """(T, C) Dice averaged over images."""
        return dice_from_counts(np.stack(counts)).mean(axis=0)

    def dice_at(self, per_class_thresholds: Sequence[float], cleaned: bool = False) -> np.ndarray:
        """(C,) Dice with the given per-class thresholds (taken from the grid)."""
        table = self.dice_table(self.cleaned_counts if cleaned else self.counts)
        index = [self.thresholds.index(float(t)) for t in per_class_thresholds]
        return table[index, np.arange(table.shape[1])]

    def best(self) -> Dict[str, np.ndarray]:
        """Best threshold per class and its Dice."""
        table = self.dice_table(self.counts)
        best = table.argmax(axis=0)
        return {'thresholds': np.asarray(self.thresholds)[best],
                'dice': table[best, np.arange(table.shape[1])]}
