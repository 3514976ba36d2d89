import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

from mmseg_ext.datasets.transforms.loading import rasterize_bitmask


def _two_overlapping_squares(size=64):
    polygons = [(3, np.array([[10, 10], [40, 10], [40, 40], [10, 40]], np.float32)),
                (28, np.array([[30, 30], [55, 30], [55, 55], [30, 55]], np.float32))]
    bits = rasterize_bitmask(polygons, (size, size))
    img = np.repeat((bits > 0).astype(np.uint8)[..., None] * 200, 3, axis=2)
    return dict(img=img, gt_seg_map=bits, seg_fields=['gt_seg_map'], img_shape=img.shape[:2],
                ori_shape=img.shape[:2])


BOTH = (1 << 3) | (1 << 28)


@pytest.mark.parametrize('cfg', [
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='Resize', scale=(48, 48), keep_ratio=True),
    dict(type='RandomResize', scale=(64, 64), ratio_range=(0.8, 1.5), keep_ratio=True),
    dict(type='RandomFlip', prob=1.0, direction='horizontal'),
    dict(type='RandomCrop', crop_size=(40, 40)),
    dict(type='RandomRotate', prob=1.0, degree=30, pad_val=0, seg_pad_val=0),
    dict(type='Pad', size=(80, 80), pad_val=dict(img=0, seg=0)),
    dict(type='RandomShiftScaleRotate', prob=1.0),
    dict(type='RandomElasticDeform', prob=1.0, alpha=0.05),
])
def test_overlap_survives_and_no_bits_are_invented(cfg):
    np.random.seed(0)
    transform = TRANSFORMS.build(cfg)
    results = transform(_two_overlapping_squares())
    bits = results['gt_seg_map']
    assert bits.dtype == np.int32
    assert (bits == BOTH).any(), 'pixels of both classes must survive'
    assert set(np.unique(bits)) <= {0, 1 << 3, 1 << 28, BOTH}
    assert bits.shape == results['img'].shape[:2]


def test_flip_moves_bits_with_image():
    results = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))(_two_overlapping_squares())
    original = _two_overlapping_squares()['gt_seg_map']
    assert (results['gt_seg_map'] == original[:, ::-1]).all()
