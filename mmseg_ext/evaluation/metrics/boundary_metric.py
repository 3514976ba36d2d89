"""Boundary distances (HD, HD95, ASSD, NSD) for multi-label (overlapping) masks."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmseg_ext.evaluation.boundary import BOUNDARY_KEYS, BoundaryResult, boundary_result_packed
from mmseg_ext.evaluation.metrics.dice_metric import prediction_and_truth

# Rows of one sample's (6, C) entry: the four metrics, then presence.
_PRED_PRESENT, _GT_PRESENT = 4, 5


def boundary_entry(pred: torch.Tensor, bits: torch.Tensor, nsd_tolerance: float = 2.0,
                   spacing=None) -> np.ndarray:
    """(6, C) float64: hd, hd95, assd, nsd, prediction present, ground truth present,
    from (C, H, W) bool ``pred`` and the packed (H, W) ground truth ``bits`` (never
    unpacked: each class is cropped from it).

    Args:
        pred (Tensor): (C, H, W) predicted masks (bool, or made bool).
        bits (Tensor): (H, W) integer ground truth in which bit ``c`` is class ``c``.
        nsd_tolerance (float): NSD tolerance in pixels (spacing units when ``spacing`` is
            set). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value or
            (row, column); None: 1 pixel.

    Raises:
        ValueError: ``bits`` not an (H, W) integer map of the prediction's size, a
            ``spacing`` that is not one or two positive numbers, or a negative or
            non-finite ``nsd_tolerance``.
    """
    return boundary_entry_from(boundary_result_packed(pred.bool(), bits, nsd_tolerance, spacing))


def boundary_entry_from(result: BoundaryResult) -> np.ndarray:
    """The (6, C) entry of a :class:`BoundaryResult`.

    Args:
        result (BoundaryResult): One image's boundary metrics and class presence
            (:func:`~mmseg_ext.evaluation.boundary.boundary_result`).
    """
    return np.concatenate([np.stack([result.metrics[k] for k in BOUNDARY_KEYS]),
                           np.stack([result.pred_present, result.gt_present])]).astype(np.float64)


def summarize_boundary(entries: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-class means over images of (N, 6, C) entries and the empty-case counts.

    Args:
        entries (np.ndarray): (N, 6, C) entries of N images (:func:`boundary_entry`).

    Returns:
        dict: ``hd``, ``hd95``, ``assd``, ``nsd`` -> (C,) means over the
        images where the class is in the prediction or the ground truth
        (NaN when in neither for every image); ``misses`` (true bone not
        predicted), ``hallucinations`` (predicted bone not in the ground
        truth), ``both_empty`` -> (C,) int64 counts.
    """
    pred_present = entries[:, _PRED_PRESENT] > 0
    gt_present = entries[:, _GT_PRESENT] > 0
    out: Dict[str, np.ndarray] = {}
    for i, key in enumerate(BOUNDARY_KEYS):
        values = entries[:, i]
        counted = ~np.isnan(values)
        sums = np.where(counted, values, 0).sum(axis=0)
        n = counted.sum(axis=0)
        out[key] = np.where(n > 0, sums / np.maximum(n, 1), np.nan)
    out['misses'] = (gt_present & ~pred_present).sum(axis=0)
    out['hallucinations'] = (pred_present & ~gt_present).sum(axis=0)
    out['both_empty'] = (~pred_present & ~gt_present).sum(axis=0)
    return out


def nan_mean(values: np.ndarray) -> float:
    """Mean of the non-NaN values (NaN when there are none).

    Args:
        values (np.ndarray): Values of any shape, NaN where there is none.
    """
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


@METRICS.register_module()
class BoundaryMetric(BaseMetric):
    """Hausdorff distance, HD95, ASSD and normalised surface Dice per class.

    Definitions are MONAI's, computed by
    :func:`mmseg_ext.evaluation.boundary.boundary_metrics` in pixels of the
    original image (or in ``spacing`` units). Misses are counted: a bone in
    only one of prediction and ground truth scores the image diagonal for the
    distances and 0 NSD; a bone in neither is left out of the means and
    counted. Per class, values are averaged over images, then over classes.
    Use beside :class:`DiceMetric`::

        val_evaluator = [dict(type='DiceMetric'), dict(type='BoundaryMetric')]

    Logged keys: ``mHD``, ``mHD95``, ``mASSD``, ``mNSD``, ``HD95.<class>`` and
    ``NSD.<class>`` per class, ``misses`` and ``hallucinations`` (summed over
    images and classes); a per-class table goes to the log.

    Args:
        nsd_tolerance (float): NSD tolerance in pixels (spacing units when
            ``spacing`` is set). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column), e.g. millimetres.
        classes (Sequence[str], optional): Class names of the prediction
            channels when they differ from the dataset's.
        collect_device (str): Device for collecting results across ranks.
        prefix (str, optional): Prefix of the metric names.
    """
    default_prefix: Optional[str] = None

    def __init__(self, nsd_tolerance: float = 2.0, spacing=None,
                 classes: Optional[Sequence[str]] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.nsd_tolerance = float(nsd_tolerance)
        self.spacing = spacing
        self.classes = tuple(classes) if classes else None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store one (6, C) entry per sample.

        Args:
            data_batch (dict): The batch from the dataloader (not used).
            data_samples (Sequence[dict]): The model's outputs as dicts, with
                ``pred_sem_seg`` ((C, H, W) masks at the original size) and
                ``gt_sem_seg`` ((1, H, W) packed bit map).

        Raises:
            ValueError: A prediction and its ground truth differ in size.
        """
        num_classes = len(self._classes())
        for sample in data_samples:
            pred, bits = prediction_and_truth(sample, num_classes)
            self.results.append(boundary_entry(pred, bits, self.nsd_tolerance, self.spacing))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """Means per class and over classes, and the miss counts.

        Args:
            results (list[np.ndarray]): The (6, C) entries of all samples, from all ranks.

        Returns:
            dict[str, float]: The logged keys (see the class docstring).
        """
        summary = summarize_boundary(np.stack(results))
        classes = self._classes()
        self._log_table(classes, summary)
        metrics = OrderedDict((f'm{key.upper()}', nan_mean(summary[key]))
                              for key in BOUNDARY_KEYS)
        metrics['misses'] = int(summary['misses'].sum())
        metrics['hallucinations'] = int(summary['hallucinations'].sum())
        for key in ('hd95', 'nsd'):
            metrics.update({f'{key.upper()}.{name}': float(v)
                            for name, v in zip(classes, summary[key])})
        return metrics

    def _classes(self) -> Sequence[str]:
        return self.classes or self.dataset_meta['classes']

    @staticmethod
    def _log_table(classes: Sequence[str], summary: Dict[str, np.ndarray]) -> None:
        table = PrettyTable(field_names=['Class', 'HD', 'HD95', 'ASSD', 'NSD', 'misses',
                                         'hallucinations'])
        for c, name in enumerate(classes):
            table.add_row([name] + [f'{summary[k][c]:.2f}' for k in BOUNDARY_KEYS[:3]]
                          + [f'{100 * summary["nsd"][c]:.2f}', int(summary['misses'][c]),
                             int(summary['hallucinations'][c])])
        table.add_row(['mean'] + [f'{nan_mean(summary[k]):.2f}' for k in BOUNDARY_KEYS[:3]]
                      + [f'{100 * nan_mean(summary["nsd"]):.2f}', int(summary['misses'].sum()),
                         int(summary['hallucinations'].sum())])
        print_log('boundary results (distances in pixels, NSD in %):\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())
