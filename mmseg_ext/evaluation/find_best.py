"""Choose what to submit from the out-of-fold predictions of one or more k-fold runs, as
nnU-Net's ``find_best_configuration`` does, with per-class thresholds, weights and cleanup
(overlapping classes), each gain measured by nested cross-validation
(:mod:`~mmseg_ext.evaluation.oof_search`).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmseg_ext.utils.masks.dice_counts import dice_from_counts
from mmseg_ext.utils.masks.mask_sources import PackedMasks
from mmseg_ext.utils.runtime.progress import track

from .oof_run import OofRun, OofRunError
from .oof_search import (ProcedureScore, choose_cleanup, cleanup_counts, cleanup_variants,
                         image_counts, score_procedure, weight_grid)
from .submission_eval import ground_truth_bits, labelled_images

DEFAULT_THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.1, 0.91, 0.05))


def check_same_folds(runs: Sequence[OofRun]) -> None:
    """Stop unless every run holds the same images in the same folds, of the same classes.

    Args:
        runs (Sequence[OofRun]): The runs.

    Raises:
        OofRunError: The first image that differs (or the classes), naming both runs.
    """
    first = runs[0]
    for run in runs[1:]:
        if run.classes != first.classes:
            raise OofRunError(f'{run.work_dir} and {first.work_dir} predict different classes')
        for key in sorted(set(first.fold_of) | set(run.fold_of)):
            if first.fold_of.get(key) != run.fold_of.get(key):
                where = {r.work_dir: r.fold_of.get(key, 'no fold') for r in (first, run)}
                raise OofRunError(
                    f'image {key} is in fold {where[first.work_dir]} of {first.work_dir} and '
                    f'in fold {where[run.work_dir]} of {run.work_dir}: the runs were trained on '
                    'different splits; train them with one split (tools/kfold.py '
                    '--split-file WORK1/splits.json)')


def ground_truth(run: OofRun, data_root: str) -> Dict[str, object]:
    """Image key -> its label (a :class:`LabelledImage`), every key of ``run`` checked.

    Args:
        run (OofRun): A run.
        data_root (str): The training data root.

    Raises:
        OofRunError: An image of the run without a label under ``data_root``.
    """
    labelled = labelled_images(data_root)
    out = {}
    for key in run.keys:
        name = run.image_names[key]
        if name not in labelled:
            raise OofRunError(f'{data_root}: no label for {name} ({key}, out-of-fold in '
                              f'{run.path(key)}); give the training data root as --data-root')
        out[key] = labelled[name]
    return out


def image_stacks(runs: Sequence[OofRun], key: str) -> list:
    """Per run, its :class:`ViewStack` of image ``key``.

    Args:
        runs (Sequence[OofRun]): The runs.
        key (str): The image key.
    """
    return [run.record(key).raw.stack() for run in runs]


@dataclass
class FindBestResult:
    """What find_best chose and measured.

    Args:
        weights (np.ndarray): (E, K) weight grid.
        thresholds (list[float]): Threshold grid.
        procedures (list[ProcedureScore]): Every procedure scored.
        best (ProcedureScore): The one with the best nested mDice.
        cleanup (list[dict]): Per class, the chosen cleanup options ({}: none).
        cleanup_scores (dict): ``before``, ``nested`` mDice and ``nested_folds``.
        folds (np.ndarray): The fold of each image.
    """
    weights: np.ndarray
    thresholds: List[float]
    procedures: List[ProcedureScore]
    best: ProcedureScore
    cleanup: List[dict] = field(default_factory=list)
    cleanup_scores: dict = field(default_factory=dict)
    folds: Optional[np.ndarray] = None

    def class_weights(self) -> np.ndarray:
        """(C, K) weight of each configuration per class in the best procedure."""
        return self.weights[self.best.choice.weight_index]

    def class_thresholds(self) -> np.ndarray:
        """(C,) threshold per class in the best procedure."""
        return np.asarray(self.thresholds)[self.best.choice.threshold_index]


def rule_threshold_indices(run: OofRun, thresholds: List[float]) -> np.ndarray:
    """(C,) indices into ``thresholds`` of the run's own (fold 0 config) thresholds.

    Args:
        run (OofRun): The run.
        thresholds (list[float]): The threshold grid (holding them).
    """
    values = run.rule(0).thresholds(len(run.classes)).flatten().tolist()
    return np.array([thresholds.index(round(v, 6)) for v in values])


def find_best(runs: Sequence[OofRun], data_root: str, weight_step: float = 0.25,
              thresholds: Sequence[float] = DEFAULT_THRESHOLDS, per_class_weights: bool = True,
              min_areas: Optional[Sequence[int]] = None) -> FindBestResult:
    """Score every configuration and ensemble on the out-of-fold images, choose by nested
    cross-validation, then choose cleanup per class the same way.

    Procedures scored: each configuration at its own thresholds; each with tuned per-class
    thresholds; with several runs, the weights (one vector for all classes) and thresholds
    tuned, and (``per_class_weights``) a weight vector per class.

    Args:
        runs (Sequence[OofRun]): The runs (same images and folds).
        data_root (str): The training data root (labels).
        weight_step (float): Weight grid step. Defaults to 0.25.
        thresholds (Sequence[float]): Threshold grid (each run's own thresholds are added).
        per_class_weights (bool): Also try a weight vector per class. Defaults to True.
        min_areas (Sequence[int], optional): Component sizes tried by the cleanup.
    """
    check_same_folds(runs)
    truth = ground_truth(runs[0], data_root)
    own = sorted({round(v, 6) for run in runs
                  for v in run.rule(0).thresholds(len(run.classes)).flatten().tolist()})
    grid = sorted({round(float(t), 6) for t in thresholds} | set(own))
    weights = weight_grid(len(runs), weight_step) if len(runs) > 1 else np.ones((1, 1))
    keys = runs[0].keys
    folds = np.array([runs[0].fold_of[key] for key in keys])
    num_classes = len(runs[0].classes)
    counts = np.zeros((len(keys), len(weights), len(grid), 3, num_classes), np.int64)
    for i, key in enumerate(track(keys, what=f'out-of-fold images x {len(runs)} run(s): '
                                  f'{len(weights)} weightings x {len(grid)} thresholds')):
        gt = PackedMasks(ground_truth_bits(truth[key], num_classes))
        counts[i] = image_counts(image_stacks(runs, key), weights, grid, gt)
    dice = dice_from_counts(counts).astype(np.float32)  # (N, E, T, C)
    procedures = []
    for k, run in enumerate(runs):
        alone = [int(np.flatnonzero(weights[:, k] == 1)[0])]
        procedures.append(score_procedure(
            f'{run.work_dir}: its thresholds', dice, folds, allowed_weights=alone,
            fixed_thresholds=rule_threshold_indices(run, grid), per_class_weights=False))
        procedures.append(score_procedure(
            f'{run.work_dir}: tuned thresholds', dice, folds, allowed_weights=alone,
            fixed_thresholds=None, per_class_weights=False))
    if len(runs) > 1:
        every = list(range(len(weights)))
        procedures.append(score_procedure('ensemble: tuned weights and thresholds', dice,
                                          folds, allowed_weights=every, fixed_thresholds=None,
                                          per_class_weights=False))
        if per_class_weights:
            procedures.append(score_procedure(
                'ensemble: tuned weights per class and thresholds', dice, folds,
                allowed_weights=every, fixed_thresholds=None, per_class_weights=True))
    best = max(procedures, key=lambda p: p.nested)
    result = FindBestResult(weights, grid, procedures, best, folds=folds)
    choose_cleanups(result, runs, truth, keys, min_areas)
    return result


def choose_cleanups(result: FindBestResult, runs: Sequence[OofRun], truth: dict,
                    keys: Sequence[str], min_areas: Optional[Sequence[int]]) -> None:
    """Per class, the cleanup (or none) with the best out-of-fold Dice at the chosen
    weights and thresholds, and its nested gain; fills ``result.cleanup`` (all none when
    the per-class choice does not gain under nested cross-validation).

    Args:
        result (FindBestResult): The choice so far.
        runs (Sequence[OofRun]): The runs.
        truth (dict): Image key -> its label.
        keys (Sequence[str]): The image keys.
        min_areas (Sequence[int], optional): Component sizes tried.
    """
    variants = cleanup_variants(*(() if min_areas is None else (min_areas, )))
    class_weights, class_thresholds = result.class_weights(), result.class_thresholds()
    num_classes = len(class_thresholds)
    counts = np.zeros((len(keys), len(variants), 3, num_classes), np.int64)
    for i, key in enumerate(track(keys, what=f'cleanup: {len(variants)} variants per class')):
        gt = PackedMasks(ground_truth_bits(truth[key], num_classes))
        counts[i] = cleanup_counts(image_stacks(runs, key), class_weights, class_thresholds,
                                   gt, variants)
    chosen, before, nested, per_fold = choose_cleanup(counts, result.folds)
    applied = nested > before  # a per-class choice that does not gain nested is dropped
    result.cleanup = [dict(variants[v]) if applied else {} for v in chosen]
    result.cleanup_scores = dict(before=before, nested=nested, nested_folds=per_fold,
                                 applied=bool(applied))
