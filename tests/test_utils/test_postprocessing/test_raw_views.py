"""``RawViews.stack()`` equals the ViewStack that prediction builds by hand (each view's
logits resized to its input size, the test transforms undone, then added), view for view and
mask for mask; logits already at the input size are not resampled."""
import types

import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.utils.postprocessing import raw_views as raw_views_module
from mmseg_ext.utils.postprocessing.box_merge import ViewStack, merge_masks
from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews, transforms_of
from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms

CLASSES = 3
SIZE = (48, 40)  # original (H, W)
THRESHOLDS = (0.2, 0.5, 0.8)


def _views(seed=0):
    """Three views of (3, 8, 8) logits: plain, horizontally flipped, and padded."""
    g = torch.Generator().manual_seed(seed)
    logits = [torch.randn((CLASSES, 8, 8), generator=g) * 3 - 0.5 for _ in range(3)]
    return [RawView(logits[0], (32, 32), {}),
            RawView(logits[1], (32, 32), dict(flip=True, flip_direction='horizontal')),
            RawView(logits[2], (36, 36), dict(img_padding_size=[0, 4, 0, 4]))]


def _by_hand(views, space='prob', align_corners=False, vote_thresholds=None):
    stack = ViewStack(SIZE, space, align_corners, vote_thresholds)
    for view in views:
        logits = F.interpolate(view.logits[None].float(), size=view.input_size, mode='bilinear',
                               align_corners=align_corners)
        stack.add(undo_test_transforms(logits, view.transforms)[0])
    return stack


@pytest.mark.parametrize('space,align_corners', [('prob', False), ('logit', False),
                                                 ('prob', True)])
def test_stack_equals_the_hand_built_view_stack(space, align_corners):
    views = _views()
    stack = RawViews(SIZE, space, align_corners, None, views).stack()
    expected = _by_hand(views, space, align_corners)
    assert len(stack.views) == len(expected.views) == 3
    for got, want in zip(stack.views, expected.views):
        assert got.shape == want.shape == (CLASSES, 32, 32)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    # the flip and the padding were undone: the views are not simply the resized logits
    plain = F.interpolate(views[1].logits[None], size=(32, 32), mode='bilinear',
                          align_corners=align_corners)[0]
    assert not torch.equal(stack.views[1], plain)
    for t in THRESHOLDS:
        thresholds = torch.full((CLASSES, 1, 1), t)
        got = merge_masks([stack], [1.0], thresholds).clone()
        want = merge_masks([expected], [1.0], thresholds)
        assert got.shape == (CLASSES, ) + SIZE
        assert torch.equal(got, want)
        assert 0 < int(got.sum()) < got.numel()  # the masks are neither empty nor full


def test_vote_stack_carries_its_thresholds():
    views = _views(1)
    raw = RawViews(SIZE, 'vote', False, [0.3, 0.5, 0.7], views)
    stack = raw.stack()
    assert stack.space == 'vote'
    torch.testing.assert_close(stack.vote_thresholds.flatten(), torch.tensor([0.3, 0.5, 0.7]))
    expected = _by_hand(views, 'vote', False, torch.tensor([0.3, 0.5, 0.7]).reshape(-1, 1, 1))
    thresholds = torch.full((CLASSES, 1, 1), 0.5)
    got = merge_masks([stack], [1.0], thresholds).clone()
    assert got.any()
    assert torch.equal(got, merge_masks([expected], [1.0], thresholds))


def test_logits_at_the_input_size_are_not_resampled(monkeypatch):
    def no_resize(*args, **kwargs):
        raise AssertionError('logits already at the input size were resampled')

    monkeypatch.setattr(raw_views_module, 'F', types.SimpleNamespace(interpolate=no_resize))
    logits = torch.randn((CLASSES, 32, 32), generator=torch.Generator().manual_seed(2))
    flipped = dict(flip=True, flip_direction='horizontal')
    out = RawView(logits.half(), (32, 32), flipped).test_size_logits(False)
    assert out.dtype == torch.float32
    assert torch.equal(out, logits.half().float().flip(-1))
    with pytest.raises(AssertionError, match='resampled'):  # a smaller map is resized
        RawView(logits[:, :8, :8], (32, 32), {}).test_size_logits(False)


def test_num_classes_and_transforms_of():
    assert RawViews(SIZE, views=_views()).num_classes == CLASSES
    meta = dict(img_padding_size=(0, 4.0, 0, 4), flip=True, flip_direction='horizontal',
                rotate_angle=15, hand_flip=None, ori_shape=SIZE)
    out = transforms_of(meta)
    assert out == dict(img_padding_size=[0, 4, 0, 4], flip=True, flip_direction='horizontal',
                       rotate_angle=15.0)
    assert isinstance(out['rotate_angle'], float)
    assert all(isinstance(v, int) for v in out['img_padding_size'])
