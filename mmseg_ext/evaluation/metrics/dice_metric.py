"""Competition Dice for multi-label (overlapping) masks."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mmseg_ext.utils.masks.dice_counts import dice_counts_packed, dice_from_counts


def prediction_and_truth(sample: dict, num_classes: int) -> tuple:
    """A sample's (C, H, W) predicted masks and (H, W) packed ground truth.

    Args:
        sample (dict): A data sample as a dict, with ``pred_sem_seg`` and ``gt_sem_seg``.
        num_classes (int): Channels the prediction must have.

    Returns:
        tuple: ``pred_sem_seg``'s (C, H, W) data and channel 0 of ``gt_sem_seg``'s
        (1, H, W) data, as stored in the sample.

    Raises:
        ValueError: The two differ in size (names the image).
    """
    pred = sample['pred_sem_seg']['data']
    bits = sample['gt_sem_seg']['data'][0]
    if tuple(pred.shape) != (num_classes, ) + tuple(bits.shape):
        raise ValueError(
            f'{sample.get("img_path", "?")}: prediction {tuple(pred.shape)} and '
            f'ground truth {(num_classes, ) + tuple(bits.shape)} differ; predict at '
            'the original size')
    return pred, bits


@METRICS.register_module()
class DiceMetric(BaseMetric):
    """Dice per class on overlapping masks, the competition way.

    For every image and class, Dice = 2|P∩G| / (|P| + |G|), and 1 when both
    masks are empty. ``mode='image'`` (default, the competition's) averages
    over images, then over classes; ``mode='dataset'`` pools the counts of all
    images per class first. Compares ``pred_sem_seg`` (C, H, W) at the
    original image size with the bit-packed ground truth; each sample adds one
    (3, C) entry, so memory is O(images x classes) and mmengine's collection
    across ranks (which drops the sampler's padding) stays exact under DDP.

    Logged keys: ``mDice`` and ``Dice.<class>`` per class; a per-class table
    goes to the log.

    Args:
        mode (str): ``'image'`` or ``'dataset'``. Defaults to 'image'.
        classes (Sequence[str], optional): Class names of the prediction
            channels when they differ from the dataset's (e.g. a model of the
            8 carpal bones on a 29-class dataset).
        collect_device (str): Device for collecting results across ranks.
        prefix (str, optional): Prefix of the metric names.
    """
    default_prefix: Optional[str] = None

    def __init__(self, mode: str = 'image', classes: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.classes = tuple(classes) if classes else None
        if mode not in ('image', 'dataset'):
            raise ValueError(f"DiceMetric mode must be 'image' or 'dataset', got {mode!r}")
        self.mode = mode

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the (3, C) Dice counts of every sample.

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
            self.results.append(dice_counts_packed(pred, bits))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        """mDice and per-class Dice from the collected counts.

        Args:
            results (list[np.ndarray]): The (3, C) counts of all samples, from all ranks.

        Returns:
            dict[str, float]: ``mDice`` and ``Dice.<class>`` per class.
        """
        counts = np.stack(results)  # (N, 3, C)
        if self.mode == 'image':
            per_class = dice_from_counts(counts).mean(axis=0)
        else:
            per_class = dice_from_counts(counts.sum(axis=0))
        classes = self._classes()
        self._log_table(classes, per_class)
        metrics = OrderedDict(mDice=float(per_class.mean()))
        metrics.update({f'Dice.{name}': float(v) for name, v in zip(classes, per_class)})
        return metrics

    def _classes(self) -> Sequence[str]:
        return self.classes or self.dataset_meta['classes']

    @staticmethod
    def _log_table(classes: Sequence[str], per_class: np.ndarray) -> None:
        table = PrettyTable(field_names=['Class', 'Dice'])
        for name, value in zip(classes, per_class):
            table.add_row([name, f'{100 * value:.2f}'])
        table.add_row(['mean', f'{100 * per_class.mean():.2f}'])
        print_log('per class results:\n' + table.get_string(),
                  logger=MMLogger.get_current_instance())
