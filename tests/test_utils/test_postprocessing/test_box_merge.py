"""Box-restricted merging equals the full-plane merge (``add_upsampled`` at the original size)
on every pixel, for TTA views, ensemble members and their mixtures."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.utils.postprocessing.box_merge import (BilinearAxis, ViewStack, dense_mean,
                                                      merge_masks)
from mmseg_ext.utils.postprocessing.original_size import add_upsampled, add_votes
from mmseg_ext.utils.postprocessing.view_geometry import unrotate

CLASSES = 6
TOLERANCE = 1e-6  # a pixel may differ only where the full-plane value is this close to t


def _phantom(size, seed):
    """Bone-like logits: +8 on a few rectangles, -8 elsewhere, smoothed, with noise;
    one class empty, one touching the border."""
    g = torch.Generator().manual_seed(seed)
    height, width = size
    logits = torch.full((CLASSES, height, width), -8.0)
    for c in range(1, CLASSES):
        y = int(torch.randint(0, height - height // 4, (1, ), generator=g))
        x = int(torch.randint(0, width - width // 4, (1, ), generator=g))
        logits[c, y:y + height // 4, x:x + width // 5] = 8.0
    logits[CLASSES - 1, :3, :] = 8.0
    logits = F.avg_pool2d(logits[None], 3, stride=1, padding=1, count_include_pad=False)[0]
    return logits + torch.randn(logits.shape, generator=g) * 0.5


def _random(size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((CLASSES, ) + tuple(size), generator=g) * 3 - 1


def _views(make, sizes, seed, flips=True, angles=()):
    """Test-size logits of one image at several scales, flipped and rotated back."""
    views = []
    for i, size in enumerate(sizes):
        base = make(size, seed + i)
        views.append(base)
        if flips:
            views.append(base.flip(-1))
        for angle in angles:
            views.append(unrotate(base[None], angle)[0])
    return views


def _full_plane(groups, weights, size, align_corners=False):
    """The merge at the original size, as today's add_upsampled path computes it:
    per member the mean of its views (in its space), then the weighted member mean."""
    total, weight_sum = None, 0.0
    for (views, space, thresholds), weight in zip(groups, weights):
        value = None
        for view in views:
            value = add_votes(value, view, size, thresholds, 1.0, align_corners) \
                if space == 'vote' else add_upsampled(value, view, size, 1.0, align_corners, space)
        if space == 'vote':
            value = (value * 2 > len(views)).float()
        else:
            value = value.div_(len(views))
            value = value.sigmoid_() if space == 'logit' else value
        w = torch.as_tensor(weight, dtype=torch.float32).flatten().expand(CLASSES)
        value = value * w.view(-1, 1, 1)
        total = value if total is None else total + value
        weight_sum = weight_sum + weight
    if torch.is_tensor(weight_sum):
        weight_sum = weight_sum.view(-1, 1, 1)
    return total / weight_sum


def _check(groups, weights, size, thresholds, align_corners=False):
    """Box masks vs full-plane masks: the differing pixels (all within TOLERANCE)."""
    stacks = []
    for views, space, vote_thresholds in groups:
        stack = ViewStack(size, space, align_corners, vote_thresholds)
        for view in views:
            stack.add(view)
        stacks.append(stack)
    got = merge_masks(stacks, weights, thresholds)
    full = _full_plane(groups, weights, size, align_corners)
    expected = full > thresholds
    assert got.shape == expected.shape and got.dtype == torch.bool
    differ = got != expected
    near = (full - thresholds).abs() <= TOLERANCE
    assert not (differ & ~near).any(), 'a pixel away from the threshold differs'
    assert expected.any(), 'nothing to compare'
    return int(differ.sum())


THRESHOLDS = torch.tensor([0.5, 0.3, 0.5, 0.7, 0.5, 0.45]).view(-1, 1, 1)


@pytest.mark.parametrize('make', [_phantom, _random])
@pytest.mark.parametrize('space', ['prob', 'logit', 'vote'])
def test_tta_views_scales_flips_rotations(make, space):
    # three scales of a 160 x 144 original, none an integer factor but one
    views = _views(make, [(30, 27), (40, 36), (50, 45)], seed=3, angles=(7.0, ))
    vote = THRESHOLDS if space == 'vote' else None
    differ = _check([(views, space, vote)], [1.0], (160, 144), THRESHOLDS)
    assert differ == 0


@pytest.mark.parametrize('make', [_phantom, _random])
def test_members_of_mixed_sizes_with_per_class_weights(make):
    size = (211, 173)
    a = _views(make, [(64, 52)], seed=5, flips=False)
    b = _views(make, [(48, 40), (72, 60)], seed=9)  # a TTA member
    c = _views(make, [(100, 81)], seed=11, flips=False)
    weights = [torch.tensor([1.0, 0.0, 0.5, 0.25, 2.0, 1.0]).view(-1, 1, 1),
               torch.tensor([0.0, 1.0, 0.5, 0.75, 1.0, 0.0]).view(-1, 1, 1),
               torch.tensor([1.0, 1.0, 1.0, 0.0, 0.5, 0.3]).view(-1, 1, 1)]
    groups = [(a, 'prob', None), (b, 'prob', None), (c, 'logit', None)]
    assert _check(groups, weights, size, THRESHOLDS) == 0
    assert _check(groups, [0.7, 0.2, 0.1], size, THRESHOLDS) == 0


@pytest.mark.parametrize('align_corners', [False, True])
@pytest.mark.parametrize('out', [(64, 64), (96, 80), (50, 41), (30, 25), (33, 70)])
def test_one_view_any_factor(out, align_corners):
    views = [_phantom((32, 32), 0), _random((32, 32), 1)]
    for view in views:
        assert _check([([view], 'prob', None)], [1.0], out, THRESHOLDS, align_corners) == 0


def test_axis_reproduces_torch_weights():
    """The sampling matrix is F.interpolate's, for sizes where float32 coordinates round."""
    for n, m in [(69, 135), (97, 301), (224, 2048), (288, 2048), (50, 40)]:
        eye = torch.eye(n)[:, None, None, :]
        for align_corners in (False, True):
            torch_weights = F.interpolate(eye, size=(1, m), mode='bilinear',
                                          align_corners=align_corners)[:, 0, 0, :].t()
            axis = BilinearAxis(n, m, align_corners, torch.device('cpu'))
            matrix = torch.zeros(m, n)
            rows = torch.arange(m)
            matrix.index_put_((rows, axis.low), axis.w_low, accumulate=True)
            matrix.index_put_((rows, axis.high), axis.w_high, accumulate=True)
            assert torch.equal(matrix, torch_weights)


def test_empty_classes_and_dense_mean():
    size = (40, 40)
    view = torch.full((CLASSES, 10, 10), -20.0)
    view[2, 4:6, 4:6] = 20.0
    stack = ViewStack(size).add(view)
    masks = merge_masks([stack], [1.0], THRESHOLDS)
    assert masks[2].any() and not masks[[0, 1, 3, 4, 5]].any()
    probs = dense_mean([stack, stack], [1.0, 3.0])
    expected = add_upsampled(None, view, size)
    assert torch.allclose(probs, expected, atol=1e-6)
    assert math.isclose(float(probs.max()), 1.0, abs_tol=1e-6)


def test_vote_needs_thresholds_and_space_is_checked():
    with pytest.raises(ValueError, match='vote'):
        ViewStack((8, 8), 'vote')
    with pytest.raises(ValueError, match='space'):
        ViewStack((8, 8), 'median')
