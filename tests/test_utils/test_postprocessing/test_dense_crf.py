import numpy as np
import pytest

from mmseg_ext.utils.postprocessing.dense_crf import dense_crf_masks

pytest.importorskip('pydensecrf.densecrf', reason='optional dependency pydensecrf2')


def test_crf_snaps_a_blurry_probability_to_the_image_edge():
    image = np.full((40, 40), 30, np.uint8)
    image[10:30, 10:30] = 200  # a bright square: the "bone"
    yy, xx = np.mgrid[0:40, 0:40]
    # a blob centred on the square but too wide, with probability ~0.6 outside it
    dist = np.maximum(np.abs(yy - 19.5), np.abs(xx - 19.5))
    prob = np.clip(1.2 - dist / 20, 0, 1)[None].astype(np.float32)
    before = prob[0] > 0.5
    after = dense_crf_masks(image, prob, bilateral_compat=10, iterations=10)[0]
    truth = image > 100

    def dice(m):
        return 2 * (m & truth).sum() / (m.sum() + truth.sum())
    assert dice(after) > dice(before)
    assert not dense_crf_masks(image, np.zeros((1, 40, 40), np.float32)).any()
