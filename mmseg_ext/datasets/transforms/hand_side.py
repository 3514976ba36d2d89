"""Left/right hand normalisation: flip left hands to the right-hand orientation."""
import os.path as osp
import re
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

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


@TRANSFORMS.register_module()
class HandSideNormalize(BaseTransform):
    """Flip left hands (image and masks) so every hand looks like a right hand.

    The side comes from the file name's ``_L``/``_R`` suffix when present,
    else from the image (:func:`side_from_image`). A flipped sample gets
    ``hand_flip=True``; add ``'hand_flip'`` to ``PackSegInputs``'s
    ``meta_keys`` and the multi-label segmentors flip predictions back
    (composing with any ``RandomFlip``).

    Args:
        target_side (str): Orientation to normalise to. Defaults to 'R'.
        use_filename (bool): Trust ``_L``/``_R`` suffixes. Defaults to True.
        radius_left_means (str): Which side a radius left of the ulna means
            in this data set. Defaults to 'R' (as in the phantoms).
    """

    def __init__(self, target_side: str = 'R', use_filename: bool = True,
                 radius_left_means: str = 'R') -> None:
        if target_side not in ('L', 'R') or radius_left_means not in ('L', 'R'):
            raise ValueError("target_side and radius_left_means must be 'L' or 'R'")
        self.target_side = target_side
        self.use_filename = use_filename
        self.radius_left_means = radius_left_means

    def transform(self, results: dict) -> dict:
        side = side_from_filename(results.get('img_path', '')) if self.use_filename else None
        if side is None:
            side = side_from_image(results['img'], self.radius_left_means)
        results['hand_side'] = side
        flip = side is not None and side != self.target_side
        results['hand_flip'] = flip
        if flip:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
            for key in results.get('seg_fields', []):
                results[key] = np.ascontiguousarray(results[key][:, ::-1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_side={self.target_side!r}, '
                f'use_filename={self.use_filename})')
