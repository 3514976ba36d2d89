"""Optional dense-CRF refinement of per-class probabilities (pydensecrf2)."""
import numpy as np

from ..masks.boxes import bounding_box


def _densecrf():
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_softmax
    except ImportError as err:
        raise ImportError('dense CRF needs the optional package pydensecrf2 '
                          '(pip install -r requirements/optional.txt)') from err
    return dcrf, unary_from_softmax


def dense_crf_masks(image: np.ndarray, probs: np.ndarray, min_prob: float = 0.05,
                    margin: int = 8, iterations: int = 5, gaussian_sxy: float = 3,
                    gaussian_compat: float = 3, bilateral_sxy: float = 20,
                    bilateral_srgb: float = 10, bilateral_compat: float = 5) -> np.ndarray:
    """Refine each class with a binary fully connected CRF on the grey image.

    Each class is solved on the box of pixels with probability > ``min_prob``
    (plus ``margin``), so cost follows the bone's size, not the image's.

    Args:
        image (np.ndarray): (H, W) uint8 grey image at the original size.
        probs (np.ndarray): (C, H, W) float probabilities at the same size.
        min_prob (float): Probability that puts a pixel in the class's box.
            Defaults to 0.05.
        margin (int): Pixels added around the box. Defaults to 8.
        iterations (int): Mean-field iterations. Defaults to 5.
        gaussian_sxy (float): Smoothness kernel: spatial standard deviation in pixels.
            Defaults to 3.
        gaussian_compat (float): Smoothness kernel: weight. Defaults to 3.
        bilateral_sxy (float): Appearance kernel: spatial standard deviation in pixels.
            Defaults to 20.
        bilateral_srgb (float): Appearance kernel: grey-value standard deviation.
            Defaults to 10.
        bilateral_compat (float): Appearance kernel: weight. Defaults to 5.

    Returns:
        np.ndarray: (C, H, W) bool masks.

    Raises:
        ImportError: ``pydensecrf2`` is not installed.
    """
    dcrf, unary_from_softmax = _densecrf()
    masks = np.zeros(probs.shape, bool)
    for c, prob in enumerate(probs):
        box = bounding_box(prob > min_prob, (margin, margin))
        if box is None:
            continue
        y0, y1, x0, x1 = box
        p = np.clip(prob[y0:y1, x0:x1].astype(np.float32), 1e-5, 1 - 1e-5)
        crf = dcrf.DenseCRF2D(x1 - x0, y1 - y0, 2)
        crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(np.stack([1 - p, p]))))
        crf.addPairwiseGaussian(sxy=gaussian_sxy, compat=gaussian_compat)
        rgb = np.ascontiguousarray(np.repeat(image[y0:y1, x0:x1, None], 3, axis=2))
        crf.addPairwiseBilateral(sxy=bilateral_sxy, srgb=bilateral_srgb, rgbim=rgb,
                                 compat=bilateral_compat)
        q = np.array(crf.inference(iterations)).reshape(2, y1 - y0, x1 - x0)
        masks[c, y0:y1, x0:x1] = q[1] > q[0]
    return masks
