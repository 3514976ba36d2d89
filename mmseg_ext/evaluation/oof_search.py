"""Choosing on out-of-fold predictions: ensemble weights, per-class thresholds and cleanup,
each with its honest gain (nested cross-validation over the folds).

Every number comes from per-image Dice counts (|P∩G|, |P|, |G| per class), gathered in
one pass over the images for every weight vector and threshold at once, and only inside
each class's box where the mean can pass the lowest threshold
(:func:`~mmseg_ext.utils.postprocessing.box_merge.class_boxes`): no full-size float plane.
Choosing is then arithmetic on those counts:

- a *procedure* (fixed thresholds; tuned thresholds; tuned weights and thresholds) is fit
  on a set of images (the best mean Dice over them) and scored on others;
- *in-sample*: fit and scored on every out-of-fold image (optimistic);
- *nested*: for each fold k, fit on the images of the other folds, score fold k's; the
  per-image scores of all folds are averaged as the competition does (per class over
  images, then over classes): the score a procedure can be expected to give on new images.
"""
import itertools
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmseg_ext.utils.masks.dice_counts import dice_from_counts
from mmseg_ext.utils.masks.mask_sources import PackedMasks
from mmseg_ext.utils.postprocessing.box_merge import ViewStack, class_boxes
from mmseg_ext.utils.postprocessing.mask_cleanup import clean_mask

# Candidate cleanups, each for one class: none first (chosen on ties).
DEFAULT_MIN_AREAS = (256, 1024, 4096)


def weight_grid(num_configs: int, step: float = 0.25) -> np.ndarray:
    """(E, K) weight vectors: multiples of ``step`` summing to 1, each configuration alone
    first.

    Args:
        num_configs (int): K, the configurations.
        step (float): Grid step, 1 / an integer. Defaults to 0.25.
    """
    units = int(round(1 / step)) if step > 0 else 0
    if units < 1 or abs(units * step - 1) > 1e-9:
        raise ValueError(f'weight step {step} must be 1 / an integer (e.g. 0.25)')
    rows = [np.array(c, float) / units
            for c in itertools.product(range(units + 1), repeat=num_configs) if sum(c) == units]
    rows.sort(key=lambda w: (np.count_nonzero(w) > 1, -w.max(), tuple(-w)))
    return np.stack(rows)


def cleanup_variants(min_areas: Sequence[int] = DEFAULT_MIN_AREAS) -> List[dict]:
    """The cleanups tried per class: none, largest component, hole filling, both, and
    removing components under each of ``min_areas`` pixels.

    Args:
        min_areas (Sequence[int]): Component sizes tried.
    """
    variants = [{}, dict(keep_largest=True), dict(fill_holes=True),
                dict(keep_largest=True, fill_holes=True)]
    return variants + [dict(min_area=int(a)) for a in min_areas]


def merged_values(values: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """The weighted mean of the terms' values on a box, with the operations of
    :func:`~mmseg_ext.utils.postprocessing.box_merge.merge_masks` (zero weights skipped).

    Args:
        values (Sequence[Tensor]): Per configuration, its (h, w) value on the box.
        weights (Sequence[float]): Per configuration, its weight.
    """
    total, weight_sum = None, 0.0
    for value, weight in zip(values, weights):
        if weight:
            term = value.mul(float(weight))
            total = term if total is None else total.add_(term)
            weight_sum = weight_sum + float(weight)
    return total.div_(weight_sum)


def passing_counts(merged: torch.Tensor, gt: torch.Tensor,
                   thresholds: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    """Per threshold t, |merged > t| and |merged > t and gt|, from one bucketing.

    Args:
        merged (Tensor): (h, w) float32 values.
        gt (Tensor): (h, w) bool ground truth on the same box.
        thresholds (Tensor): (T,) float32 ascending thresholds.

    Returns:
        tuple[np.ndarray, np.ndarray]: (T,) predicted and (T,) intersection counts.
    """
    # bucket i holds thresholds[i - 1] < v <= thresholds[i]: v > thresholds[j] iff i > j
    bucket = torch.bucketize(merged, thresholds)
    size = len(thresholds) + 1
    pred = torch.bincount(bucket.flatten(), minlength=size)
    inter = torch.bincount(bucket[gt], minlength=size)
    above = lambda hist: hist.flip(0).cumsum(0).flip(0)[1:].numpy()  # noqa: E731
    return above(pred), above(inter)


def image_counts(stacks: Sequence[ViewStack], weights: np.ndarray, thresholds: Sequence[float],
                 gt: PackedMasks) -> np.ndarray:
    """(E, T, 3, C) int64 Dice counts of one image for every weight vector and threshold.

    Args:
        stacks (Sequence[ViewStack]): Per configuration, its views of the image.
        weights (np.ndarray): (E, K) weight vectors.
        thresholds (Sequence[float]): T ascending thresholds.
        gt (PackedMasks): The image's ground truth.
    """
    num_classes = stacks[0].num_classes
    limits = torch.tensor(thresholds, dtype=torch.float32)
    counts = np.zeros((len(weights), len(limits), 3, num_classes), np.int64)
    boxes = class_boxes(stacks, limits[0].expand(num_classes).reshape(-1, 1, 1))
    used = np.flatnonzero(weights.any(axis=0))
    for c, box in enumerate(boxes):
        gt_box = gt.box(c)
        counts[:, :, 2, c] = np.count_nonzero(gt.crop(c, gt_box)) if gt_box else 0
        if box is None:
            continue
        values = {k: stacks[k].values(c, box).cpu() for k in used}
        truth = torch.from_numpy(gt.crop(c, box))
        for e, row in enumerate(weights):
            merged = merged_values([values[k] for k in used], row[used])
            counts[e, :, 1, c], counts[e, :, 0, c] = passing_counts(merged, truth, limits)
    return counts


def cleanup_counts(stacks: Sequence[ViewStack], weights: np.ndarray, thresholds: np.ndarray,
                   gt: PackedMasks, variants: Sequence[dict]) -> np.ndarray:
    """(V, 3, C) Dice counts of one image for each cleanup variant, the masks made with
    each class's own weights and threshold.

    Cleanup runs on the class's box (the whole mask lies inside it; components and holes
    are those of the full-size mask).

    Args:
        stacks (Sequence[ViewStack]): Per configuration, its views of the image.
        weights (np.ndarray): (C, K) weights of each class.
        thresholds (np.ndarray): (C,) thresholds.
        gt (PackedMasks): The image's ground truth.
        variants (Sequence[dict]): :func:`~mmseg_ext.utils.postprocessing.mask_cleanup.
            clean_mask` options, one per variant.
    """
    num_classes = stacks[0].num_classes
    limits = torch.tensor(thresholds, dtype=torch.float32)
    counts = np.zeros((len(variants), 3, num_classes), np.int64)
    boxes = class_boxes(stacks, limits.reshape(-1, 1, 1))
    for c, box in enumerate(boxes):
        gt_box = gt.box(c)
        counts[:, 2, c] = np.count_nonzero(gt.crop(c, gt_box)) if gt_box else 0
        if box is None:
            continue
        used = np.flatnonzero(weights[c])
        merged = merged_values([stacks[k].values(c, box).cpu() for k in used], weights[c, used])
        mask = (merged > limits[c]).numpy()
        truth = gt.crop(c, box)
        for v, options in enumerate(variants):
            cleaned = clean_mask(mask, **options) if options else mask
            counts[v, 1, c] = np.count_nonzero(cleaned)
            counts[v, 0, c] = np.count_nonzero(cleaned & truth)
    return counts


@dataclass
class Choice:
    """What a procedure chose: per class, a weight vector (row of the grid) and a
    threshold (index into the grid).

    Args:
        weight_index (np.ndarray): (C,) row of the weight grid per class.
        threshold_index (np.ndarray): (C,) index of the threshold per class.
    """
    weight_index: np.ndarray
    threshold_index: np.ndarray


def fit(dice: np.ndarray, rows: np.ndarray, allowed_weights: Sequence[int],
        fixed_thresholds: Optional[np.ndarray], per_class_weights: bool) -> Choice:
    """The best weights and thresholds on the images ``rows`` (mean Dice over them).

    Args:
        dice (np.ndarray): (N, E, T, C) per-image Dice.
        rows (np.ndarray): Indices of the images fit on.
        allowed_weights (Sequence[int]): Weight-grid rows the procedure may use.
        fixed_thresholds (np.ndarray, optional): (C,) threshold indices kept as given;
            None tunes them per class.
        per_class_weights (bool): A weight row per class instead of one for all.
    """
    num_classes = dice.shape[-1]
    mean = dice[rows][:, allowed_weights].mean(axis=0)  # (E', T, C)
    if fixed_thresholds is None:
        best_t = mean.argmax(axis=1)  # (E', C)
    else:
        best_t = np.broadcast_to(fixed_thresholds, mean[:, 0].shape)
    best = np.take_along_axis(mean, best_t[:, None], axis=1)[:, 0]  # (E', C)
    if per_class_weights:
        w = best.argmax(axis=0)
    else:
        w = np.full(num_classes, best.mean(axis=1).argmax())
    columns = np.arange(num_classes)
    return Choice(np.asarray(allowed_weights)[w], best_t[w, columns])


def per_image_dice(dice: np.ndarray, rows: np.ndarray, choice: Choice) -> np.ndarray:
    """(n, C) Dice of the images ``rows`` under ``choice``.

    Args:
        dice (np.ndarray): (N, E, T, C) per-image Dice.
        rows (np.ndarray): Image indices.
        choice (Choice): Weights and thresholds per class.
    """
    columns = np.arange(dice.shape[-1])
    return dice[rows][:, choice.weight_index, choice.threshold_index, columns]


@dataclass
class ProcedureScore:
    """A procedure's fit on all images and its scores.

    Args:
        name (str): What it chooses.
        choice (Choice): Its fit on every image.
        in_sample (float): mDice of that fit on the same images.
        nested (float): mDice of nested cross-validation (each fold scored by a fit on
            the others; per class over all images, then over classes).
        nested_folds (dict[int, float]): Each fold's nested mDice.
    """
    name: str
    choice: Choice
    in_sample: float
    nested: float
    nested_folds: Dict[int, float]


def score_procedure(name: str, dice: np.ndarray, folds: np.ndarray, **procedure
                    ) -> ProcedureScore:
    """Fit ``procedure`` (the arguments of :func:`fit`) on all images and nested over
    ``folds``.

    Args:
        name (str): The procedure's name.
        dice (np.ndarray): (N, E, T, C) per-image Dice.
        folds (np.ndarray): (N,) the fold of each image.
        **procedure: ``allowed_weights``, ``fixed_thresholds``, ``per_class_weights``.
    """
    everything = np.arange(len(dice))
    choice = fit(dice, everything, **procedure)
    in_sample = per_image_dice(dice, everything, choice).mean(axis=0).mean()
    nested_rows, nested_folds = np.zeros((len(dice), dice.shape[-1])), {}
    for fold in np.unique(folds):
        held_out = np.flatnonzero(folds == fold)
        inner = fit(dice, np.flatnonzero(folds != fold), **procedure)
        nested_rows[held_out] = per_image_dice(dice, held_out, inner)
        nested_folds[int(fold)] = float(nested_rows[held_out].mean(axis=0).mean())
    return ProcedureScore(name, choice, float(in_sample),
                          float(nested_rows.mean(axis=0).mean()), nested_folds)


def choose_cleanup(counts: np.ndarray,
                   folds: np.ndarray) -> Tuple[np.ndarray, float, float, Dict[int, float]]:
    """Per class, the cleanup variant with the best mean Dice (ties: the earliest, i.e. none).

    Args:
        counts (np.ndarray): (N, V, 3, C) counts per image and variant (variant 0: none).
        folds (np.ndarray): (N,) the fold of each image.

    Returns:
        tuple: (C,) chosen variant per class (fit on all images), the mDice without
        cleanup, the nested mDice with cleanup chosen per class, and each fold's.
    """
    dice = dice_from_counts(counts)  # (N, V, C)
    chosen = dice.mean(axis=0).argmax(axis=0)
    columns = np.arange(dice.shape[-1])
    nested, per_fold = np.zeros((len(dice), dice.shape[-1])), {}
    for fold in np.unique(folds):
        held_out = np.flatnonzero(folds == fold)
        inner = dice[folds != fold].mean(axis=0).argmax(axis=0)
        nested[held_out] = dice[held_out][:, inner, columns]
        per_fold[int(fold)] = float(nested[held_out].mean(axis=0).mean())
    return chosen, float(dice[:, 0].mean(axis=0).mean()), \
        float(nested.mean(axis=0).mean()), per_fold
