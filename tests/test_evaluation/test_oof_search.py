"""Choosing on out-of-fold predictions (``oof_search``): the per-image Dice counts of every
weight vector and threshold (and of every cleanup variant) equal those of the full-size masks
of ``merge_masks``, and the nested cross-validation of the procedures and of the cleanup gives
the numbers worked out by hand."""
import numpy as np
import pytest
import torch

from mmseg_ext.evaluation.oof_search import (Choice, choose_cleanup, cleanup_counts,
                                             cleanup_variants, fit, image_counts, per_image_dice,
                                             score_procedure, weight_grid)
from mmseg_ext.utils.masks.dice_counts import dice_counts
from mmseg_ext.utils.masks.mask_sources import PackedMasks
from mmseg_ext.utils.postprocessing.box_merge import ViewStack, merge_masks
from mmseg_ext.utils.postprocessing.mask_cleanup import clean_masks

CLASSES = 4
SIZE = (40, 40)
THRESHOLDS = [0.2, 0.35, 0.5, 0.8]


def _stacks(seed=0):
    """Two configurations: one view of 10x10 logits, and two views (12x12, 10x10). Each
    class is noise on a part of the map, and a probability of 0.27 in the last cell (above
    the first threshold only), far below every threshold elsewhere (so the boxes matter);
    class 2 is far below everywhere (no box)."""
    g = torch.Generator().manual_seed(seed)

    def logits(size):
        out = torch.full((CLASSES, size, size), -10.0)
        for c in (0, 1, 3):
            y, x = torch.randint(0, size // 2, (2, ), generator=g).tolist()
            out[c, y:y + size // 2, x:x + size // 2] = \
                torch.randn((size // 2, size // 2), generator=g) * 3 - 1
            out[c, -1, -1] = -1.0
        return out

    return [ViewStack(SIZE).add(logits(10)),
            ViewStack(SIZE).add(logits(12)).add(logits(10))]


def _ground_truth(seed=0):
    """Bit c set inside a few random rectangles of class c; class 3 is empty."""
    rng = np.random.default_rng(seed)
    bits = np.zeros(SIZE, np.uint8)
    for c in range(CLASSES - 1):
        for _ in range(3):
            y, x = rng.integers(0, 30, 2)
            h, w = rng.integers(4, 14, 2)
            bits[y:y + h, x:x + w] |= 1 << c
    return bits


def _planes(bits):
    return torch.from_numpy(np.stack([(bits >> c) & 1 for c in range(CLASSES)]).astype(bool))


def _merged_masks(stacks, row, thresholds):
    """Full-size masks of the weighted mean, zero-weight configurations left out."""
    used = [k for k in range(len(stacks)) if row[k]]
    return merge_masks([stacks[k] for k in used], [float(row[k]) for k in used],
                       thresholds).clone()


def test_image_counts_equal_the_full_size_masks():
    stacks, bits = _stacks(), _ground_truth()
    weights = weight_grid(2, 0.25)
    counts = image_counts(stacks, weights, THRESHOLDS, PackedMasks(bits))
    assert counts.shape == (len(weights), len(THRESHOLDS), 3, CLASSES)
    assert counts.dtype == np.int64
    gt = _planes(bits)
    for e, row in enumerate(weights):
        for i, t in enumerate(THRESHOLDS):
            masks = _merged_masks(stacks, row, torch.full((CLASSES, 1, 1), t))
            np.testing.assert_array_equal(counts[e, i], dice_counts(masks, gt),
                                          err_msg=f'weights {row}, threshold {t}')
    # the case is not degenerate: classes 0, 1 predicted and matched, class 2 never
    # predicted, class 3 predicted on an empty ground truth; weights change the counts
    assert (counts[:, 0, 0, :2] > 0).all() and (counts[:, :, 1, 2] == 0).all()
    assert (counts[:, :, 2, 3] == 0).all() and (counts[:, 0, 1, 3] > 0).all()
    assert len({counts[e].tobytes() for e in range(len(weights))}) == len(weights)


def test_cleanup_counts_equal_cleaning_the_full_size_masks():
    stacks, bits = _stacks(10), _ground_truth(10)
    weights = weight_grid(2, 0.25)
    class_weights = weights[[0, 1, 3, 2]]  # a different weight vector per class
    thresholds = np.array([0.5, 0.2, 0.2, 0.5])
    variants = cleanup_variants((4, ))
    assert variants[0] == {} and variants[-1] == dict(min_area=4) and len(variants) == 5
    counts = cleanup_counts(stacks, class_weights, thresholds, PackedMasks(bits), variants)
    assert counts.shape == (len(variants), 3, CLASSES)
    masks = torch.stack([
        _merged_masks(stacks, class_weights[c], torch.tensor(thresholds, dtype=torch.float32)
                      .reshape(-1, 1, 1))[c] for c in range(CLASSES)])
    gt = _planes(bits)
    for v, options in enumerate(variants):
        cleaned = clean_masks(masks, **options) if options else masks
        np.testing.assert_array_equal(counts[v], dice_counts(cleaned, gt), err_msg=str(options))
    # the cleanups do change the masks here (else this test would show nothing)
    assert len({counts[v, 1].tobytes() for v in range(len(variants))}) == len(variants)


def test_weight_grid():
    grid = weight_grid(2, 0.25)
    np.testing.assert_array_equal(grid, [[1, 0], [0, 1], [0.75, 0.25], [0.25, 0.75],
                                         [0.5, 0.5]])
    grid = weight_grid(3, 0.5)
    np.testing.assert_allclose(grid.sum(axis=1), 1)
    np.testing.assert_array_equal(grid[:3], np.eye(3))  # each configuration alone first
    assert len(grid) == 6 and len({tuple(r) for r in grid}) == 6
    np.testing.assert_array_equal(weight_grid(1), [[1.0]])
    for step in (0.3, 2.0, 0.0, -0.25):
        with pytest.raises(ValueError, match=f'weight step {step} must be 1 / an integer'):
            weight_grid(2, step)


def _two_fold_dice():
    """(4 images, 1 weight row, 2 thresholds, 2 classes); images 0, 1 in fold 0, 2, 3 in 1.

    Class 0: fold 0 prefers threshold 0 (0.9 vs 0.5), fold 1 threshold 1 (0.3 vs 0.8); over
    all images threshold 1 wins (0.65 vs 0.6). Class 1: threshold 0 everywhere (1 vs 0.5).
    """
    dice = np.zeros((4, 1, 2, 2))
    dice[:2, 0, :, 0] = [0.9, 0.5]
    dice[2:, 0, :, 0] = [0.3, 0.8]
    dice[:, 0, :, 1] = [1.0, 0.5]
    return dice, np.array([0, 0, 1, 1])


def test_tuned_thresholds_nested_below_in_sample():
    dice, folds = _two_fold_dice()
    score = score_procedure('tuned', dice, folds, allowed_weights=[0], fixed_thresholds=None,
                            per_class_weights=False)
    np.testing.assert_array_equal(score.choice.threshold_index, [1, 0])
    np.testing.assert_array_equal(score.choice.weight_index, [0, 0])
    assert score.in_sample == pytest.approx((0.65 + 1.0) / 2)
    # fold 0 is scored at fold 1's threshold (0.5), fold 1 at fold 0's (0.3)
    assert score.nested_folds == pytest.approx({0: (0.5 + 1) / 2, 1: (0.3 + 1) / 2})
    assert score.nested == pytest.approx((0.4 + 1.0) / 2)
    assert score.nested < score.in_sample
    inner = fit(dice, np.array([0, 1]), [0], None, False)
    np.testing.assert_array_equal(inner.threshold_index, [0, 0])
    np.testing.assert_allclose(per_image_dice(dice, np.array([2, 3]), inner),
                               [[0.3, 1.0], [0.3, 1.0]])


def test_fixed_thresholds_have_no_optimism():
    dice, folds = _two_fold_dice()
    score = score_procedure('fixed', dice, folds, allowed_weights=[0],
                            fixed_thresholds=np.array([0, 0]), per_class_weights=False)
    np.testing.assert_array_equal(score.choice.threshold_index, [0, 0])
    assert score.in_sample == pytest.approx(score.nested) == pytest.approx((0.6 + 1.0) / 2)
    assert score.nested_folds == pytest.approx({0: (0.9 + 1) / 2, 1: (0.3 + 1) / 2})


def test_per_class_weights_pick_a_row_per_class():
    # (2 images, 3 weight rows, 1 threshold, 2 classes): row 0 is best for class 0, row 2
    # for class 1, row 1 best for both together
    dice = np.zeros((2, 3, 1, 2))
    dice[:, 0, 0] = [0.9, 0.2]
    dice[:, 1, 0] = [0.7, 0.7]
    dice[:, 2, 0] = [0.3, 0.8]
    folds = np.array([0, 1])
    shared = score_procedure('shared', dice, folds, allowed_weights=[0, 1, 2],
                             fixed_thresholds=None, per_class_weights=False)
    np.testing.assert_array_equal(shared.choice.weight_index, [1, 1])
    assert shared.in_sample == pytest.approx(0.7)
    per_class = score_procedure('per class', dice, folds, allowed_weights=[0, 1, 2],
                                fixed_thresholds=None, per_class_weights=True)
    np.testing.assert_array_equal(per_class.choice.weight_index, [0, 2])
    assert per_class.in_sample == pytest.approx(0.85) == pytest.approx(per_class.nested)
    # the rows are those of the whole grid, not of the allowed subset
    restricted = fit(dice, np.arange(2), [1, 2], None, True)
    np.testing.assert_array_equal(restricted.weight_index, [1, 2])
    alone = fit(dice, np.arange(2), [2], None, False)
    np.testing.assert_array_equal(alone.weight_index, [2, 2])
    assert isinstance(alone, Choice)


def test_choose_cleanup():
    # (2 images in folds 0 and 1, 3 variants, counts |P∩G|, |P|, |G|, 2 classes)
    counts = np.zeros((2, 3, 3, 2), np.int64)
    # class 0, image 0: none 2/3, variant 1 0.6, variant 2 0.9
    counts[0, :, :, 0] = [[8, 14, 10], [6, 10, 10], [9, 10, 10]]
    # class 0, image 1: none 0.5, variant 1 1.0, variant 2 0.8
    counts[1, :, :, 0] = [[5, 10, 10], [10, 10, 10], [8, 10, 10]]
    # class 1: none and variant 1 perfect (a tie: none is kept), variant 2 20/22
    counts[:, :, :, 1] = [[10, 10, 10], [10, 10, 10], [10, 12, 10]]
    chosen, before, nested, per_fold = choose_cleanup(counts, np.array([0, 1]))
    np.testing.assert_array_equal(chosen, [2, 0])
    assert before == pytest.approx(((2 / 3 + 0.5) / 2 + 1) / 2)
    # fold 0 is scored with fold 1's choice (variant 1: 0.6), fold 1 with fold 0's (2: 0.8)
    assert per_fold == pytest.approx({0: (0.6 + 1) / 2, 1: (0.8 + 1) / 2})
    assert nested == pytest.approx(((0.6 + 0.8) / 2 + 1) / 2)
