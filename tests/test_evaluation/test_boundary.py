"""mmseg_ext.evaluation.boundary against MONAI (the oracle) and its own rules."""
import warnings

import cv2
import numpy as np
import pytest
import torch

from mmseg_ext.evaluation.boundary import (BOUNDARY_KEYS, boundary_metrics, boundary_result,
                                           boundary_result_packed)

monai_metrics = pytest.importorskip('monai.metrics', reason='MONAI (requirements/tests.txt)')

SIZES = (32, 48, 64, 96, 128)
IMAGES_PER_SIZE = 8
CLASSES = 8  # mask pairs per image: 5 x 8 x 8 = 320 pairs


def _blobs(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A few ellipses and rectangles, some with holes, some past the border."""
    mask = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        cy, cx = int(rng.integers(-4, h + 4)), int(rng.integers(-4, w + 4))
        ay, ax = int(rng.integers(1, h // 3)), int(rng.integers(1, w // 3))
        if rng.random() < 0.5:
            cv2.ellipse(mask, (cx, cy), (ax, ay), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            cv2.rectangle(mask, (cx - ax, cy - ay), (cx + ax, cy + ay), 1, -1)
        if rng.random() < 0.4:  # a hole
            cv2.circle(mask, (cx, cy), max(1, min(ax, ay) // 2), 0, -1)
    return mask.astype(bool)


def _variant(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """A shifted, dilated, eroded or spurred copy of ``base``, or an unrelated mask."""
    h, w = base.shape
    kind = rng.integers(0, 5)
    out = base.astype(np.uint8)
    if kind == 0:
        out = np.roll(out, (int(rng.integers(-5, 6)), int(rng.integers(-5, 6))), axis=(0, 1))
    elif kind == 1:
        out = cv2.dilate(out, np.ones((3, 3), np.uint8), iterations=int(rng.integers(1, 4)))
    elif kind == 2:
        out = cv2.erode(out, np.ones((3, 3), np.uint8))
    elif kind == 3:  # a one-pixel-wide spur
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        cv2.line(out, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), 1, 1)
    else:
        return _blobs(rng, h, w)
    return out.astype(bool)


def _pair(rng: np.random.Generator, h: int, w: int, k: int):
    """Mask pair number ``k``: the first ones cover the special cases."""
    gt = _blobs(rng, h, w)
    if k == 0:  # one-pixel masks
        gt = np.zeros((h, w), bool)
        gt[rng.integers(0, h), rng.integers(0, w)] = True
        pred = np.zeros((h, w), bool)
        pred[rng.integers(0, h), rng.integers(0, w)] = True
        return pred, gt
    if k == 1:  # the whole image (every pixel on the border is an edge)
        return np.ones((h, w), bool), _variant(rng, np.ones((h, w), bool))
    if k == 2:
        return np.zeros((h, w), bool), gt  # a miss
    if k == 3:
        return gt, np.zeros((h, w), bool)  # a hallucination
    if k == 4 and rng.random() < 0.5:
        return np.zeros((h, w), bool), np.zeros((h, w), bool)
    return _variant(rng, gt), gt


def _monai(pred: np.ndarray, gt: np.ndarray, tol: float) -> dict:
    """MONAI's values for (C, H, W) masks as (C,) float64 arrays."""
    y_pred, y = torch.from_numpy(pred[None]).float(), torch.from_numpy(gt[None]).float()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # empty masks warn
        values = {
            'hd': monai_metrics.compute_hausdorff_distance(y_pred, y, include_background=True),
            'hd95': monai_metrics.compute_hausdorff_distance(y_pred, y, include_background=True,
                                                             percentile=95),
            'assd': monai_metrics.compute_average_surface_distance(
                y_pred, y, include_background=True, symmetric=True),
            'nsd': monai_metrics.compute_surface_dice(
                y_pred, y, class_thresholds=[tol] * pred.shape[0], include_background=True),
        }
    return {k: v[0].double().numpy() for k, v in values.items()}


def test_agrees_with_monai_on_random_pairs():
    rng = np.random.default_rng(2024)
    compared = {k: 0 for k in BOUNDARY_KEYS}
    largest = {k: 0.0 for k in BOUNDARY_KEYS}
    special = {'one empty': 0, 'both empty': 0}
    for size in SIZES:
        for _ in range(IMAGES_PER_SIZE):
            h, w = size, int(size * rng.uniform(0.75, 1.25))
            pairs = [_pair(rng, h, w, k) for k in range(CLASSES)]
            pred = np.stack([p for p, _ in pairs])
            gt = np.stack([g for _, g in pairs])
            tol = float(rng.choice([1.0, 2.0, 3.0]))
            ours = boundary_metrics(pred, gt, nsd_tolerance=tol)
            oracle = _monai(pred, gt, tol)
            pred_any, gt_any = pred.any(axis=(1, 2)), gt.any(axis=(1, 2))
            one_empty, both_empty = pred_any != gt_any, ~pred_any & ~gt_any
            special['one empty'] += int(one_empty.sum())
            special['both empty'] += int(both_empty.sum())
            for key in BOUNDARY_KEYS:
                finite = np.isfinite(oracle[key])
                diff = np.abs(ours[key][finite] - oracle[key][finite])
                assert (diff <= (1e-6 if key == 'nsd' else 1e-3)).all(), (key, size, diff.max())
                compared[key] += int(finite.sum())
                largest[key] = max(largest[key], float(diff.max(initial=0.0)))
                # One empty: MONAI gives inf (hd95: NaN, the quantile of infs) and 0 NSD;
                # here the distances are the diagonal. Both empty: NaN in both.
                expected = 0.0 if key == 'nsd' else float(np.hypot(h, w))
                np.testing.assert_array_equal(ours[key][one_empty], expected)
                if key != 'nsd':
                    assert not np.isfinite(oracle[key][one_empty]).any()
                assert np.isnan(ours[key][both_empty]).all()
                assert np.isnan(oracle[key][both_empty]).all()
    pairs = len(SIZES) * IMAGES_PER_SIZE * CLASSES
    assert pairs >= 200 and min(compared.values()) >= 200
    assert special['one empty'] > 0 and special['both empty'] > 0
    print(f'\n{pairs} pairs; finite values compared {compared}; largest difference {largest}; '
          f'{special}')


def test_spacing_gives_millimetres():
    rng = np.random.default_rng(5)
    gt = np.stack([_blobs(rng, 64, 80) for _ in range(4)])
    pred = np.stack([_variant(rng, g) for g in gt])
    gt[0] = pred[0] = False
    pred[1] = False
    for spacing in (0.5, (0.4, 0.7)):
        ours = boundary_metrics(pred, gt, nsd_tolerance=1.5, spacing=spacing)
        y_pred, y = torch.from_numpy(pred[None]).float(), torch.from_numpy(gt[None]).float()
        sp = [spacing] * 2 if np.isscalar(spacing) else list(spacing)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            hd95 = monai_metrics.compute_hausdorff_distance(
                y_pred, y, include_background=True, percentile=95, spacing=sp)[0].numpy()
            nsd = monai_metrics.compute_surface_dice(
                y_pred, y, class_thresholds=[1.5] * 4, include_background=True,
                spacing=sp)[0].numpy()
        np.testing.assert_allclose(ours['hd95'][2:], hd95[2:], atol=1e-3)
        np.testing.assert_allclose(ours['nsd'][1:], nsd[1:], atol=1e-6)
        assert ours['hd95'][1] == pytest.approx(np.hypot(64 * sp[0], 80 * sp[1]))


def test_torch_input_equals_numpy_input():
    rng = np.random.default_rng(9)
    gt = np.stack([_blobs(rng, 40, 40) for _ in range(3)])
    pred = np.stack([_variant(rng, g) for g in gt])
    a = boundary_metrics(pred, gt)
    b = boundary_metrics(torch.from_numpy(pred), torch.from_numpy(gt))
    for key in BOUNDARY_KEYS:
        assert a[key].dtype == np.float64 and a[key].shape == (3, )
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize('bad', [dict(spacing=-1.0), dict(spacing=(1, 2, 3)),
                                 dict(nsd_tolerance=float('nan'))])
def test_bad_arguments_are_named(bad):
    masks = np.zeros((2, 8, 8), bool)
    with pytest.raises(ValueError, match='spacing|nsd_tolerance'):
        boundary_metrics(masks, masks, **bad)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r'\(2, 8, 8\) and \(2, 8, 9\)'):
        boundary_metrics(np.zeros((2, 8, 8), bool), np.zeros((2, 8, 9), bool))


def test_packed_ground_truth_equals_planes():
    rng = np.random.default_rng(11)
    gt = np.stack([_blobs(rng, 50, 70) for _ in range(6)])
    pred = np.stack([_variant(rng, g) for g in gt])
    gt[1] = False
    pred[2] = False
    bits = np.zeros(gt.shape[1:], np.int32)
    for c in range(gt.shape[0]):
        bits |= gt[c].astype(np.int32) << c
    planes = boundary_result(pred, gt)
    packed = boundary_result_packed(torch.from_numpy(pred), torch.from_numpy(bits))
    for key in BOUNDARY_KEYS:
        np.testing.assert_array_equal(planes.metrics[key], packed.metrics[key])
    np.testing.assert_array_equal(packed.gt_present, gt.any(axis=(1, 2)))
    np.testing.assert_array_equal(packed.pred_present, pred.any(axis=(1, 2)))
