"""The k-fold report ``kfold_report.csv``: Dice per class and fold, HD95 too where validation
ran ``BoundaryMetric`` (its chart: :func:`~mmseg_ext.visualization.bar_chart.write_fold_chart`)."""
import csv
import os.path as osp
from typing import Dict, List, Sequence

from ..class_names import HAND_BONE_CLASSES
from ..fileio.atomic_io import atomic_open


def dice_per_fold(metrics: Dict[str, Dict[str, float]],
                  classes: Sequence[str] = HAND_BONE_CLASSES) -> Dict[str, List[float]]:
    """Fold name -> Dice per class (NaN where a fold did not log the class).

    Args:
        metrics (dict): Fold name -> its best validation metrics (``Dice.<class>``).
        classes (Sequence[str]): Class names, in order.
    """
    return {k: [v.get(f'Dice.{c}', float('nan')) for c in classes] for k, v in metrics.items()}


def write_kfold_report(work_root: str, metrics: Dict[str, Dict[str, float]],
                       classes: Sequence[str] = HAND_BONE_CLASSES) -> float:
    """Write ``kfold_report.csv`` under ``work_root``, atomically.

    Args:
        work_root (str): The k-fold work dir.
        metrics (dict): Fold name -> its best validation metrics (``mDice``,
            ``Dice.<class>``).
        classes (Sequence[str]): Class names, in order.

    Returns:
        float: The mean of the folds' mDice.
    """
    per_class = dice_per_fold(metrics, classes)
    means = [metrics[k]['mDice'] for k in per_class]
    # HD95 columns where validation ran BoundaryMetric (val_evaluator) in every fold.
    hd95 = {k: [v.get(f'HD95.{c}', float('nan')) for c in classes] for k, v in metrics.items()}
    with_hd95 = all('mHD95' in v for v in metrics.values())
    hd95_names = [f'{k}_hd95' for k in per_class] + ['mean_hd95'] if with_hd95 else []
    with atomic_open(osp.join(work_root, 'kfold_report.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class'] + list(per_class) + ['mean'] + hd95_names)
        for i, name in enumerate(classes):
            row = [per_class[k][i] for k in per_class]
            extra = _with_mean([hd95[k][i] for k in hd95], '.2f') if with_hd95 else []
            writer.writerow([name] + _with_mean(row, '.4f') + extra)
        extra = _with_mean([metrics[k]['mHD95'] for k in per_class], '.2f') if with_hd95 else []
        writer.writerow(['mDice'] + _with_mean(means, '.4f') + extra)
    return sum(means) / len(means)


def _with_mean(values: Sequence[float], spec: str) -> list:
    """Formatted values, then their mean."""
    return [format(v, spec) for v in values] + [format(sum(values) / len(values), spec)]
