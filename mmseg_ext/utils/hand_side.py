"""Which hand an X-ray shows, from its file name or its forearm, and whether
normalising it to one side flips it (no mmcv needed).

:func:`side_and_flip` is the decision of the ``HandSideNormalize`` transform and
of the exported-model inference path (:mod:`mmseg_ext.deploy`).
"""
import os.path as osp
import re
from typing import Optional, Tuple

import cv2
import numpy as np

_SUFFIX = re.compile(r'_([LR])$', re.IGNORECASE)


def side_from_filename(path: str) -> Optional[str]:
    """'L' or 'R' from a ``..._L.png`` / ``..._R.dcm`` name, else None."""
    match = _SUFFIX.search(osp.splitext(osp.basename(path))[0])
    return match.group(1).upper() if match else None


def side_from_image(img: np.ndarray, radius_left_means: str = 'R',
                    strip: float = 0.15) -> Optional[str]:
    """Guess the side from the forearm: the radius is the wider of the two bones.

    In the bottom ``strip`` of the image, bright column runs (Otsu threshold)
    are found; the widest two are radius (wider) and ulna. Returns
    ``radius_left_means`` when the radius lies left of the ulna, the other
    side when right, None when two bones are not found.
    """
    grey = img if img.ndim == 2 else img[..., 0]
    band = grey[int(grey.shape[0] * (1 - strip)):]
    profile = band.mean(axis=0).astype(np.float32)
    norm = cv2.normalize(profile, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    _, bright = cv2.threshold(norm.reshape(1, -1), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = np.concatenate([[0], bright.ravel(), [0]])
    edges = np.flatnonzero(np.diff(bright))
    runs = sorted(zip(edges[1::2] - edges[0::2], edges[0::2]), reverse=True)[:2]
    if len(runs) < 2:
        return None
    (_, radius_start), (_, ulna_start) = runs
    other = 'L' if radius_left_means == 'R' else 'R'
    return radius_left_means if radius_start < ulna_start else other


def side_and_flip(img: np.ndarray, img_path: str, target_side: str, use_filename: bool,
                  radius_left_means: str) -> Tuple[Optional[str], bool]:
    """(side, flip) of one X-ray as ``HandSideNormalize`` decides them.

    Args:
        img (np.ndarray): The image (the forearm decides without a file-name side).
        img_path (str): Its file; a ``_L``/``_R`` suffix decides when trusted.
        target_side (str): Orientation normalised to.
        use_filename (bool): Trust the file name's suffix.
        radius_left_means (str): Which side a radius left of the ulna means.

    Returns:
        tuple: The side ('L', 'R' or None when unknown), and whether a known
        side other than ``target_side`` is flipped.
    """
    side = side_from_filename(img_path) if use_filename else None
    if side is None:
        side = side_from_image(img, radius_left_means)
    return side, side is not None and side != target_side
