"""Small geometry shared by transforms and view geometry."""
import cv2
import numpy as np


def rotation_matrix(height: int, width: int, angle: float) -> np.ndarray:
    """2x3 pixel-space matrix rotating an image by ``angle`` degrees about its
    centre (OpenCV's convention: positive = counter-clockwise).

    Args:
        height (int): Image height.
        width (int): Image width.
        angle (float): Degrees, counter-clockwise.
    """
    return cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)
