"""Small geometry shared by transforms, prediction and post-processing."""
from typing import Optional, Tuple

import cv2
import numpy as np

Box = Tuple[int, int, int, int]  # (y0, y1, x0, x1), ends exclusive


def rotation_matrix(height: int, width: int, angle: float) -> np.ndarray:
    """2x3 pixel-space matrix rotating an image by ``angle`` degrees about its
    centre (OpenCV's convention: positive = counter-clockwise)."""
    return cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0)


def bounding_box(mask: np.ndarray, margin: Tuple[int, int] = (0, 0)) -> Optional[Box]:
    """(y0, y1, x0, x1) of a 2-D mask's True pixels grown by ``margin`` (dy, dx) on
    each side and clipped to the mask, or None for an empty mask."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    dy, dx = margin
    height, width = mask.shape
    return (max(int(rows[0]) - dy, 0), min(int(rows[-1]) + 1 + dy, height),
            max(int(cols[0]) - dx, 0), min(int(cols[-1]) + 1 + dx, width))
