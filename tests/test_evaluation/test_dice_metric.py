import numpy as np
import pytest
import torch

from mmseg_ext.evaluation import DiceMetric
from mmseg_ext.utils.masks.bitmask import pack_bits

CLASSES = ('a', 'b', 'c')


def _sample(pred, gt):
    return dict(pred_sem_seg=dict(data=torch.as_tensor(pred)),
                gt_sem_seg=dict(data=pack_bits(torch.as_tensor(gt))[None]))


def _metric(mode='image'):
    metric = DiceMetric(mode=mode)
    metric.dataset_meta = dict(classes=CLASSES)
    return metric


def _pair():
    gt = np.zeros((2, 3, 4, 4), bool)
    pred = np.zeros((2, 3, 4, 4), bool)
    gt[0, 0, :2] = True          # 8 px
    pred[0, 0, :1] = True        # 4 px inside: dice 2*4/12
    gt[0, 1] = pred[0, 1] = True  # perfect; class c empty vs empty -> 1
    gt[1, 0, 0, 0] = True        # missed: 0
    pred[1, 2, 0, 0] = True      # false positive on an empty class: 0
    gt[1, 1] = True
    pred[1, 1, :2] = True        # 2*8/24
    return pred, gt


def test_competition_dice_per_image_then_class():
    pred, gt = _pair()
    metric = _metric()
    metric.process({}, [_sample(pred[i], gt[i]) for i in range(2)])
    result = metric.compute_metrics(metric.results)
    expected = np.array([[8 / 12, 1, 1], [0, 16 / 24, 0]]).mean(axis=0)
    assert result['Dice.a'] == pytest.approx(expected[0])
    assert result['Dice.b'] == pytest.approx(expected[1])
    assert result['Dice.c'] == pytest.approx(expected[2])
    assert result['mDice'] == pytest.approx(expected.mean())


def test_dataset_mode_pools_counts():
    pred, gt = _pair()
    metric = _metric('dataset')
    metric.process({}, [_sample(pred[i], gt[i]) for i in range(2)])
    result = metric.compute_metrics(metric.results)
    assert result['Dice.a'] == pytest.approx(2 * 4 / (4 + 9))


def test_one_small_entry_per_sample_and_shape_check():
    pred, gt = _pair()
    metric = _metric()
    metric.process({}, [_sample(pred[i], gt[i]) for i in range(2)])
    assert len(metric.results) == 2 and metric.results[0].shape == (3, 3)
    with pytest.raises(ValueError, match='original size'):
        metric.process({}, [_sample(pred[0][:, :2], gt[0])])
