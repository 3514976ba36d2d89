"""Learning-curve picture in the work dir after every validation."""
import os.path as osp
from typing import Dict, Optional

import cv2
import numpy as np
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
from mmseg_ext.utils.formats.scalars_json import is_validation, read_scalars
from mmseg_ext.visualization.line_chart import line_chart


def learning_curve(work_dir: str, metric: str = 'mDice') -> Optional[np.ndarray]:
    """Training losses and the validation ``metric`` against the iteration, from every
    run's ``scalars.json`` under ``work_dir`` (resumed runs included); None before the
    first logged step.

    Args:
        work_dir (str): The training work dir.
        metric (str): Validation metric to draw. Defaults to 'mDice'.
    """
    entries = read_scalars(work_dir)
    if not entries:
        return None
    train = [e for e in entries if not is_validation(e)]
    val = [e for e in entries if metric in e]
    losses: Dict[str, tuple] = {}
    for key in sorted({k for e in train for k in e if 'loss' in k}):
        points = [(e['step'], e[key]) for e in train if key in e]
        losses[key] = ([p[0] for p in points], [p[1] for p in points])
    best = max((e[metric] for e in val), default=float('nan'))
    panels = [line_chart(losses, 'training loss'),
              line_chart({metric: ([e['step'] for e in val], [e[metric] for e in val])},
                         f'validation {metric} (best {best:.4f})')]
    return np.concatenate(panels, axis=0)


@HOOKS.register_module()
class LearningCurveHook(Hook):
    """Writes ``WORK_DIR/learning_curve.png`` (losses and validation mDice against the
    iteration) after every validation, from the runs' ``scalars.json``.

    Args:
        metric (str): Validation metric to draw. Defaults to 'mDice'.
        filename (str): Picture name in the work dir. Defaults to 'learning_curve.png'.
    """
    priority = 'LOW'  # after LoggerHook has written the validation metrics

    def __init__(self, metric: str = 'mDice', filename: str = 'learning_curve.png') -> None:
        self.metric = metric
        self.filename = filename

    @master_only
    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Redraw the picture with the validation just logged."""
        image = learning_curve(runner.work_dir, self.metric)
        if image is not None:
            ok, png = cv2.imencode('.png', image)
            if ok:
                atomic_write_bytes(png.tobytes(), osp.join(runner.work_dir, self.filename))
