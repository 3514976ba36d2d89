"""RandomNoiseBlur: measurable noise and blur on the image, nothing else touched."""
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

SIZE = 64


def _results(img):
    """A pipeline dict: the image and a bit-map label that must pass untouched."""
    bits = np.zeros(img.shape[:2], np.int32)
    bits[10:30, 20:40] = (1 << 3) | (1 << 28)
    return dict(img=img, gt_seg_map=bits, seg_fields=['gt_seg_map'],
                img_shape=img.shape[:2], ori_shape=img.shape[:2])


def _flat(value=128, channels=3, dtype=np.uint8):
    return np.full((SIZE, SIZE, channels), value, dtype)


def _edge(channels=3):
    """Dark left half (40), bright right half (200): a vertical step at column 32."""
    img = np.full((SIZE, SIZE, channels), 40, np.uint8)
    img[:, SIZE // 2:] = 200
    return img


def _transform(**kwargs):
    return TRANSFORMS.build(dict(type='RandomNoiseBlur', **kwargs))


def _apply(transform, img, seed=0):
    np.random.seed(seed)
    results = _results(img.copy())
    bits = results['gt_seg_map'].copy()
    out = transform(results)
    assert np.array_equal(out['gt_seg_map'], bits), 'labels must not change'
    assert out['img'].shape == img.shape and out['img'].dtype == img.dtype
    return out['img']


def _transition_width(img):
    """Columns of the middle row strictly between the two sides' grey levels."""
    row = img[SIZE // 2, :, 0].astype(int)
    return int(((row > 40) & (row < 200)).sum())


def test_probability_zero_leaves_the_image_untouched():
    transform = _transform(noise_prob=0.0, blur_prob=0.0)
    for seed in range(5):
        assert np.array_equal(_apply(transform, _edge(), seed), _edge())


@pytest.mark.parametrize('std', [3.0, 10.0])
def test_noise_has_the_requested_std_same_in_every_channel(std):
    transform = _transform(noise_std=(std, std), noise_prob=1.0, blur_prob=0.0)
    out = _apply(transform, _flat(128)).astype(np.float64)
    noise = out - 128
    assert abs(noise.mean()) < 0.1 * std + 0.3
    # rounding to integers adds 1/12 of variance
    assert np.sqrt(noise[..., 0].var() - 1 / 12) == pytest.approx(std, rel=0.1)
    # a grey X-ray stays grey: one noise plane for all channels
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])


def test_noise_std_is_drawn_from_the_range():
    transform = _transform(noise_std=(3.0, 10.0), noise_prob=1.0, blur_prob=0.0)
    stds = [np.std(_apply(transform, _flat(128), seed).astype(float) - 128) for seed in range(20)]
    assert 2.5 < min(stds) and max(stds) < 10.5
    assert max(stds) - min(stds) > 2, 'the std is drawn per call, not fixed'


def test_noise_is_clipped_not_wrapped_at_the_ends_of_the_range():
    transform = _transform(noise_std=(20.0, 20.0), noise_prob=1.0, blur_prob=0.0)
    bright = _apply(transform, _flat(250)).astype(int)
    dark = _apply(transform, _flat(5)).astype(int)
    assert bright.max() == 255 and bright.min() > 150  # uint8 wrap-around would give ~0
    assert dark.min() == 0 and dark.max() < 100  # and ~255 here


def test_blur_widens_an_edge_and_keeps_flat_regions_and_the_mean():
    img = _edge()
    assert _transition_width(img) == 0
    narrow = _apply(_transform(blur_sigma=(0.8, 0.8), noise_prob=0.0, blur_prob=1.0), img)
    wide = _apply(_transform(blur_sigma=(2.5, 2.5), noise_prob=0.0, blur_prob=1.0), img)
    assert 0 < _transition_width(narrow) < _transition_width(wide)
    for out in (narrow, wide):
        # far from the edge nothing changes; the blur is symmetric: same mean
        assert (out[:, :SIZE // 2 - 10] == 40).all() and (out[:, SIZE // 2 + 10:] == 200).all()
        assert out.astype(float).mean() == pytest.approx(img.mean(), abs=0.5)
        # the step stays monotone along a row
        assert (np.diff(out[SIZE // 2, :, 0].astype(int)) >= 0).all()


@pytest.mark.parametrize('channels,dtype', [(1, np.uint8), (3, np.uint8), (1, np.float32)])
def test_noise_and_blur_keep_shape_and_dtype(channels, dtype):
    img = _edge(channels).astype(dtype)
    transform = _transform(noise_prob=1.0, blur_prob=1.0)
    out = _apply(transform, img)
    assert not np.array_equal(out, img)
    assert out.min() >= 0 and out.max() <= 255


def test_a_two_dimensional_image_gets_the_same_noise_and_blur_as_one_channel():
    """An (H, W) image (a grey loader without a channel axis) keeps its shape, and gets
    exactly what its (H, W, 1) form gets under the same seed."""
    transform = _transform(noise_prob=1.0, blur_prob=1.0)
    edge2d = _edge(1)[..., 0]
    out2d = _apply(transform, edge2d, seed=3)
    out3d = _apply(transform, _edge(1), seed=3)
    assert np.array_equal(out2d, out3d[..., 0])
    assert not np.array_equal(out2d, edge2d)


def test_seeded_runs_repeat_and_seeds_differ():
    transform = _transform(noise_prob=1.0, blur_prob=1.0)
    first, again = _apply(transform, _edge(), seed=7), _apply(transform, _edge(), seed=7)
    other = _apply(transform, _edge(), seed=8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_probabilities_are_the_fractions_of_calls_changed():
    """noise_prob 0.3 and blur_prob 0.2 (the defaults): over 400 seeded calls on a flat
    image only noise shows (blur of a flat image is the image), on an edge either."""
    transform = _transform()
    noisy = sum(not np.array_equal(_apply(transform, _flat(128), s), _flat(128))
                for s in range(400))
    changed = sum(not np.array_equal(_apply(transform, _edge(), s), _edge())
                  for s in range(400))
    assert 0.3 * 400 - 40 < noisy < 0.3 * 400 + 40
    # P(noise or blur) = 1 - 0.7 * 0.8 = 0.44
    assert 0.44 * 400 - 45 < changed < 0.44 * 400 + 45


def test_in_the_training_pipeline_config():
    from mmengine.config import Config

    from tests.helpers import REPO_ROOT
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/_base_/datasets/hand_bone.py')
    assert any(step['type'] == 'RandomNoiseBlur' for step in cfg.train_pipeline)
