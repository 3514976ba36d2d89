"""The k-fold report: ``kfold_report.csv`` (Dice per class and fold; HD95 too where validation
ran ``BoundaryMetric``) and its bar chart."""
import csv
import os.path as osp
from typing import Dict, Sequence

import cv2

from ..class_names import HAND_BONE_CLASSES
from ..fileio.atomic_io import atomic_open, atomic_write_bytes


def write_kfold_report(work_root: str, metrics: Dict[str, Dict[str, float]],
                       classes: Sequence[str] = HAND_BONE_CLASSES) -> float:
    """Write ``kfold_report.csv`` and ``kfold_report.png`` under ``work_root``.

    Args:
        work_root (str): The k-fold work dir.
        metrics (dict): Fold name -> its best validation metrics (``mDice``,
            ``Dice.<class>``).
        classes (Sequence[str]): Class names, in order.

    Returns:
        float: The mean of the folds' mDice.
    """
    from mmseg_ext.visualization import grouped_bar_chart
    per_class = {k: [v.get(f'Dice.{c}', float('nan')) for c in classes]
                 for k, v in metrics.items()}
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
    low = max(0.0, min(min(v) for v in per_class.values()) - 0.05)
    chart = grouped_bar_chart(per_class, classes, 'Dice per class and fold', low=low)
    atomic_write_bytes(cv2.imencode('.png', chart)[1].tobytes(),
                       osp.join(work_root, 'kfold_report.png'))
    return sum(means) / len(means)


def _with_mean(values: Sequence[float], spec: str) -> list:
    """Formatted values, then their mean."""
    return [format(v, spec) for v in values] + [format(sum(values) / len(values), spec)]
