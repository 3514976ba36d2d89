"""BoundaryMetric: registered, beside DiceMetric in one evaluator, misses counted."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmseg.registry import METRICS

from mmseg_ext.evaluation.boundary import boundary_metrics
from mmseg_ext.utils.masks.bitmask import pack_bits

CLASSES = ('a', 'b', 'c', 'd')


def _sample(pred: np.ndarray, gt: np.ndarray) -> dict:
    return dict(pred_sem_seg=dict(data=torch.from_numpy(pred)),
                gt_sem_seg=dict(data=pack_bits(torch.from_numpy(gt))[None]))


def _masks(shift: int):
    """Class a: shifted square; b: missed; c: hallucinated; d: empty in both."""
    gt = np.zeros((4, 40, 50), bool)
    pred = np.zeros_like(gt)
    gt[0, 10:20, 10:25] = True
    pred[0, 10 + shift:20 + shift, 10:25] = True
    gt[1, 5:9, 30:40] = True
    pred[2, 30:35, 5:15] = True
    return pred, gt


def test_logs_means_per_class_values_and_counts():
    metric = METRICS.build(dict(type='BoundaryMetric', nsd_tolerance=1.0))
    metric.dataset_meta = dict(classes=CLASSES)
    pairs = [_masks(1), _masks(3)]
    for pred, gt in pairs:
        metric.process({}, [_sample(pred, gt)])
    out = metric.compute_metrics(metric.results)
    per_image = [boundary_metrics(p, g, nsd_tolerance=1.0) for p, g in pairs]
    expected_hd95 = np.mean([m['hd95'] for m in per_image], axis=0)  # d: NaN in both
    assert np.isnan(expected_hd95[3])
    for c, name in enumerate(CLASSES[:3]):
        assert out[f'HD95.{name}'] == pytest.approx(expected_hd95[c])
    assert np.isnan(out['HD95.d']) and np.isnan(out['NSD.d'])
    assert out['mHD95'] == pytest.approx(np.mean(expected_hd95[:3]))
    assert out['HD95.b'] == pytest.approx(np.hypot(40, 50))  # a miss scores the diagonal
    assert out['NSD.b'] == out['NSD.c'] == 0.0
    assert out['misses'] == 2 and out['hallucinations'] == 2
    assert {'mHD', 'mASSD', 'mNSD'} <= set(out)


def test_runs_beside_dice_metric_in_one_evaluator():
    evaluator = Evaluator([dict(type='DiceMetric'), dict(type='BoundaryMetric')])
    evaluator.dataset_meta = dict(classes=CLASSES)
    pred, gt = _masks(2)
    evaluator.process([_sample(pred, gt)], {})
    out = evaluator.evaluate(1)
    assert {'mDice', 'mHD95', 'mNSD', 'misses', 'HD95.a'} <= set(out)


def test_size_mismatch_names_the_image():
    metric = METRICS.build(dict(type='BoundaryMetric'))
    metric.dataset_meta = dict(classes=CLASSES)
    pred, gt = _masks(1)
    sample = _sample(pred[:, :30], gt)
    sample['img_path'] = 'ID001/x.png'
    with pytest.raises(ValueError, match='ID001/x.png: prediction'):
        metric.process({}, [sample])
