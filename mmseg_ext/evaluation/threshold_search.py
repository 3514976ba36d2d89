"""Per-class threshold search on validation probabilities (competition Dice)."""
from typing import Dict, List, Sequence

import numpy as np
import torch

from mmseg_ext.utils.masks.dice_counts import dice_counts, dice_from_counts


class ThresholdSearch:
    """Accumulates per-image Dice counts for a grid of thresholds.

    Post-processing is not scored here: it is costly per mask, so callers
    score it once, at the thresholds this search chooses.

    Args:
        thresholds (Sequence[float]): Candidate thresholds.
    """

    def __init__(self, thresholds: Sequence[float]) -> None:
        self.thresholds = [float(t) for t in thresholds]
        self.counts: List[np.ndarray] = []  # per image: (T, 3, C)

    def add(self, probs: torch.Tensor, gt: torch.Tensor) -> None:
        """Add one image: (C, H, W) probabilities and (C, H, W) bool ground truth.

        Args:
            probs (Tensor): (C, H, W) probabilities of one image.
            gt (Tensor): (C, H, W) bool ground truth of the same size.
        """
        self.counts.append(np.stack([dice_counts(probs > t, gt) for t in self.thresholds]))

    @staticmethod
    def dice_table(counts: List[np.ndarray]) -> np.ndarray:
        """(T, C) Dice averaged over images.

        Args:
            counts (list[np.ndarray]): Per image, its (T, 3, C) Dice counts at the T
                thresholds (:attr:`counts` of one or several searches).
        """
        return dice_from_counts(np.stack(counts)).mean(axis=0)

    def dice_at(self, per_class_thresholds: Sequence[float]) -> np.ndarray:
        """(C,) Dice with the given per-class thresholds (taken from the grid).

        Args:
            per_class_thresholds (Sequence[float]): One threshold per class, each one of
                :attr:`thresholds`.

        Raises:
            ValueError: A threshold that is not in the grid.
        """
        table = self.dice_table(self.counts)
        index = [self.thresholds.index(float(t)) for t in per_class_thresholds]
        return table[index, np.arange(table.shape[1])]

    def best(self) -> Dict[str, np.ndarray]:
        """Best threshold per class and its Dice."""
        table = self.dice_table(self.counts)
        best = table.argmax(axis=0)
        return {'thresholds': np.asarray(self.thresholds)[best],
                'dice': table[best, np.arange(table.shape[1])]}
