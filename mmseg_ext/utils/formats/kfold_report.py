"""The k-fold report: ``kfold_report.csv`` (Dice per class and fold) and its bar chart."""
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
    with atomic_open(osp.join(work_root, 'kfold_report.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class'] + list(per_class) + ['mean'])
        for i, name in enumerate(classes):
            row = [per_class[k][i] for k in per_class]
            writer.writerow([name] + [f'{v:.4f}' for v in row] + [f'{sum(row) / len(row):.4f}'])
        writer.writerow(['mDice'] + [f'{v:.4f}' for v in means]
                        + [f'{sum(means) / len(means):.4f}'])
    low = max(0.0, min(min(v) for v in per_class.values()) - 0.05)
    chart = grouped_bar_chart(per_class, classes, 'Dice per class and fold', low=low)
    atomic_write_bytes(cv2.imencode('.png', chart)[1].tobytes(),
                       osp.join(work_root, 'kfold_report.png'))
    return sum(means) / len(means)
