"""``tools/test.py --show-dir`` and validation pictures of multi-label predictions."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmseg.registry import VISUALIZERS
from mmseg.structures import SegDataSample
from mmseg.visualization import SegLocalVisualizer

from mmseg_ext.evaluation.boundary import boundary_metrics
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.masks.dice_counts import dice_counts, dice_from_counts

from .panels import prediction_figure


def masks_figure(image: np.ndarray, pred: torch.Tensor, gt: Optional[torch.Tensor],
                 classes: Sequence[str], palette: Sequence[Sequence[int]], name: str,
                 findings: Sequence = ()
                 ) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]:
    """Predicted (and true) masks drawn by :func:`prediction_figure`, and the per-class
    Dice and HD95 (pixels; mean Dice and HD95 in the prediction's title).

    Args:
        image (np.ndarray): (H, W) uint8 X-ray.
        pred (Tensor): (C, H, W) bool prediction.
        gt (Tensor, optional): (C, H, W) bool ground truth: adds its panels and the Dice.
        classes (Sequence[str]): Class names.
        palette (Sequence): One RGB colour per class.
        name (str): Image name for the titles.
        findings (Sequence): Anatomical findings to outline on the prediction.

    Returns:
        tuple: (H', W', 3) RGB figure; (C,) Dice and (C,) HD95, or None and
        None without ground truth.
    """
    dice = hd95 = None
    if gt is not None:
        dice = dice_from_counts(dice_counts(pred, gt))
        hd95 = boundary_metrics(pred.bool(), gt.bool())['hd95']
    figure = prediction_figure(image, pred.numpy().astype(bool), classes, palette, name,
                               None if gt is None else gt.numpy(), findings, dice, hd95)
    return figure, dice, hd95


@VISUALIZERS.register_module()
class MultiLabelSegVisualizer(SegLocalVisualizer):
    """Draws (C, H, W) masks as ``tools/analysis_tools/visualize.py`` does.

    mmseg's ``SegLocalVisualizer`` paints ``sem_seg[0] == label``: with one
    bool plane per class only class 0 appears. This draws every class in its
    palette colour (overlapping classes mix their colours), the ground truth
    and an error panel when the sample has labels (the packed bit map), and a
    legend with the image's per-class Dice.

    Args:
        name (str): Instance name. Defaults to 'visualizer'.
        **kwargs: As for ``SegLocalVisualizer`` (``vis_backends``,
            ``save_dir``, ``classes``, ``palette``...).
    """

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0,
                       with_labels: Optional[bool] = True) -> None:
        """Draw one sample: panels side by side; show, write or log it.

        Args:
            name (str): Image identifier (window title, file name of the backend).
            image (np.ndarray): (H, W) grey or (H, W, 3) RGB uint8 image.
            data_sample (SegDataSample, optional): With ``pred_sem_seg`` (C, H, W)
                masks and optionally ``gt_sem_seg`` (the packed bit map).
            draw_gt (bool): Draw the ground truth when present.
            draw_pred (bool): Draw the prediction.
            show (bool): Show the picture in a window.
            wait_time (float): Seconds to show it.
            out_file (str, optional): Write it here (PNG, atomically) instead of
                to the backends.
            step (int): Backend step.
            with_labels (bool): Unused (the legend names every class).
        """
        classes, palette = self.dataset_meta['classes'], self.dataset_meta['palette']
        grey = image if image.ndim == 2 else image[..., 0]
        pred = data_sample.pred_sem_seg.data.cpu() if draw_pred else None
        gt = None
        if draw_gt and 'gt_sem_seg' in data_sample:
            gt = unpack_bits(data_sample.gt_sem_seg.data[0].cpu(), len(classes))
        if pred is None:
            pred, gt = gt, None
        drawn, _, _ = masks_figure(grey, pred, gt, classes, palette, name)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            import cv2

            from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
            atomic_write_bytes(cv2.imencode('.png', drawn[..., ::-1])[1].tobytes(), out_file)
        else:
            self.add_image(name, drawn, step)
