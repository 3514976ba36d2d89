import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.models.segmentors.multilabel_mixin import upsample_and_threshold


def _blobs(classes=5, size=(24, 20), seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(classes, *size, generator=g) * 2 - 6
    logits[1, 3:9, 4:10] += 10   # an interior blob
    logits[2, :4, :] += 10       # touching the top border and full width
    logits[3, -2:, -3:] += 10    # bottom-right corner
    return logits               # class 0 and 4: (almost surely) empty


@pytest.mark.parametrize('factor', [1, 2, 3, 4])
def test_equals_full_interpolation_for_integer_factors(factor):
    logits = _blobs()
    thresholds = torch.tensor([0.5, 0.3, 0.5, 0.7, 0.5]).view(-1, 1, 1)
    out = (24 * factor, 20 * factor)
    full = F.interpolate(logits[None], size=out, mode='bilinear', align_corners=False)[0]
    expected = full.sigmoid() > thresholds
    assert expected[1:4].any(dim=(1, 2)).all()
    assert torch.equal(upsample_and_threshold(logits, out, thresholds, False), expected)


@pytest.mark.parametrize('out', [(50, 41), (30, 25)])
def test_non_integer_factors_fall_back_to_full_interpolation(out):
    logits = _blobs()
    thresholds = torch.full((5, 1, 1), 0.5)
    full = F.interpolate(logits[None], size=out, mode='bilinear', align_corners=False)[0]
    got = upsample_and_threshold(logits, out, thresholds, False)
    assert torch.equal(got, full.sigmoid() > thresholds)


def test_window_positions_cover_image():
    from mmseg_ext.models.segmentors.multilabel_mixin import window_positions
    covered = torch.zeros(100, 70)
    for y1, y2, x1, x2 in window_positions((100, 70), (32, 32), (24, 24)):
        assert y2 - y1 == 32 and x2 - x1 == 32
        covered[y1:y2, x1:x2] += 1
    assert (covered > 0).all()


@pytest.mark.parametrize('window_batch', [1, 3])
def test_gaussian_slide_blends_windows(window_batch):
    from mmseg_ext.models.segmentors.multilabel_mixin import MultiLabelSegmentorMixin

    class Identity(MultiLabelSegmentorMixin):
        out_channels = 3
        test_cfg = dict(crop_size=(32, 32), stride=(20, 20), gaussian=True,
                        window_batch=window_batch)

        def encode_decode(self, crops, metas):
            assert len(metas) == crops.shape[0]
            return crops * 2

    inputs = torch.randn(2, 3, 70, 50)
    out = Identity().slide_inference(inputs, [dict(img_shape=(70, 50))] * 2)
    assert torch.allclose(out, inputs * 2, atol=1e-5)  # a weighted mean of equal values


def test_gaussian_window_peaks_in_centre():
    from mmseg_ext.models.segmentors.multilabel_mixin import gaussian_window
    w = gaussian_window(16, 16)
    assert w.max() == w[7:9, 7:9].max() and w.min() > 0 and w[0, 0] < w[8, 8] / 100


@pytest.mark.parametrize('angle', [7.0, -12.0])
def test_rotate_view_is_undone(angle):
    import numpy as np

    from mmseg_ext.datasets.transforms import RotateView
    from mmseg_ext.models.segmentors.multilabel_mixin import unrotate
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    img = np.stack([xx, yy, xx * 0 + 1], axis=2)  # smooth maps of the coordinates
    rotated = RotateView(angle)(dict(img=img))
    assert rotated['rotate_angle'] == angle
    back = unrotate(torch.from_numpy(rotated['img']).permute(2, 0, 1)[None], angle)[0]
    inner = (slice(12, 36), slice(16, 48))  # away from the corners lost by the rotation
    assert torch.allclose(back[0][inner], torch.from_numpy(xx)[inner], atol=0.05)
    assert torch.allclose(back[1][inner], torch.from_numpy(yy)[inner], atol=0.05)
