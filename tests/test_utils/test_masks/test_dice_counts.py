"""One family of Dice counters: planes, a packed bit map and boxes give the same counts."""
import numpy as np
import torch

from mmseg_ext.utils.masks.bitmask import pack_bits
from mmseg_ext.utils.masks.dice_counts import (dice_counts, dice_counts_in_boxes,
                                               dice_counts_packed, dice_from_counts)
from mmseg_ext.utils.masks.mask_sources import PackedMasks, PlaneMasks


def test_counts_from_packed_bits_equal_counts_from_masks():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand((29, 24, 20), generator=gen) > 0.6
    pred = torch.rand((29, 24, 20), generator=gen) > 0.5
    bits = pack_bits(gt).to(torch.int64)  # as PackSegInputs hands it over
    assert np.array_equal(dice_counts_packed(pred, bits), dice_counts(pred, gt))


def test_counts_in_boxes_equal_plane_counts():
    rng = np.random.default_rng(3)
    pred = rng.random((6, 40, 50)) < 0.02
    gt = np.zeros_like(pred)
    gt[:, 10:30, 5:25] = rng.random((6, 20, 20)) < 0.5
    pred[0] = gt[1] = False
    pred[2] = gt[2] = False  # both empty
    pred[3] = gt[3]  # equal
    bits = pack_bits(gt)
    expected = dice_counts_packed(torch.from_numpy(pred), torch.from_numpy(bits))
    got = dice_counts_in_boxes(PlaneMasks(pred), PackedMasks(bits), pred.shape[0])
    np.testing.assert_array_equal(got, expected)
    assert np.array_equal(dice_counts_in_boxes(PlaneMasks(pred), PlaneMasks(gt), 6), expected)


def test_dice_from_counts_per_class_and_empty_vs_empty():
    counts = np.array([[2, 0, 0], [3, 0, 4], [5, 0, 0]])  # rows |P∩G|, |P|, |G|; 3 classes
    np.testing.assert_array_equal(dice_from_counts(counts), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(dice_from_counts(np.stack([counts] * 2)), [[0.5, 1, 0]] * 2)
