import pytest
import torch


def test_window_positions_cover_image():
    from mmseg_ext.models.utils import window_positions
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
    from mmseg_ext.models.utils import gaussian_window
    w = gaussian_window(16, 16)
    assert w.max() == w[7:9, 7:9].max() and w.min() > 0 and w[0, 0] < w[8, 8] / 100
