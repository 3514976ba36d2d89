import pytest
import torch


@pytest.mark.parametrize('angle', [7.0, -12.0])
def test_rotate_view_is_undone(angle):
    import numpy as np

    from mmseg_ext.datasets.transforms import RotateView
    from mmseg_ext.utils.postprocessing.view_geometry import unrotate
    yy, xx = np.mgrid[0:48, 0:64].astype(np.float32)
    img = np.stack([xx, yy, xx * 0 + 1], axis=2)  # smooth maps of the coordinates
    rotated = RotateView(angle)(dict(img=img))
    assert rotated['rotate_angle'] == angle
    back = unrotate(torch.from_numpy(rotated['img']).permute(2, 0, 1)[None], angle)[0]
    inner = (slice(12, 36), slice(16, 48))  # away from the corners lost by the rotation
    assert torch.allclose(back[0][inner], torch.from_numpy(xx)[inner], atol=0.05)
    assert torch.allclose(back[1][inner], torch.from_numpy(yy)[inner], atol=0.05)
