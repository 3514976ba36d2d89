"""Geometric augmentations that warp the image and the bit-packed masks together."""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


def _warp_all(results: dict, warp_img, warp_seg) -> dict:
    results['img'] = warp_img(results['img'])
    for key in results.get('seg_fields', []):
        results[key] = warp_seg(results[key])
    return results


def _keep_channel_axis(warped: np.ndarray, like: np.ndarray) -> np.ndarray:
    """cv2 drops a trailing axis of size 1; put it back."""
    return warped[..., None] if like.ndim == 3 and warped.ndim == 2 else warped


@TRANSFORMS.register_module()
class RandomShiftScaleRotate(BaseTransform):
    """Random affine shift, scale and rotation (albumentations' ShiftScaleRotate).

    One ``cv2.warpAffine`` for the image (bilinear) and one per segmentation
    field (nearest, so bit-packed labels stay exact; border 0 = no class).

    Args:
        shift_limit (float): Max shift as a fraction of width/height. Defaults to 0.0625.
        scale_limit (float): Scale drawn from [1 - l, 1 + l]. Defaults to 0.1.
        rotate_limit (float): Max rotation in degrees. Defaults to 15.
        prob (float): Probability of applying. Defaults to 0.5.
        img_border_value (float): Image fill. Defaults to 0.
        seg_border_value (int): Label fill. Defaults to 0.
    """

    def __init__(self, shift_limit: float = 0.0625, scale_limit: float = 0.1,
                 rotate_limit: float = 15, prob: float = 0.5,
                 img_border_value: float = 0, seg_border_value: int = 0) -> None:
        self.shift_limit = shift_limit
        self.scale_limit = scale_limit
        self.rotate_limit = rotate_limit
        self.prob = prob
        self.img_border_value = img_border_value
        self.seg_border_value = seg_border_value

    @cache_randomness
    def _sample(self) -> Tuple[bool, float, float, float, float]:
        return (np.random.rand() < self.prob,
                np.random.uniform(-self.rotate_limit, self.rotate_limit),
                np.random.uniform(1 - self.scale_limit, 1 + self.scale_limit),
                np.random.uniform(-self.shift_limit, self.shift_limit),
                np.random.uniform(-self.shift_limit, self.shift_limit))

    def transform(self, results: dict) -> dict:
        apply, angle, scale, dx, dy = self._sample()
        if not apply:
            return results
        height, width = results['img'].shape[:2]
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
        matrix[:, 2] += (dx * width, dy * height)

        def warp(arr: np.ndarray, flags: int, border: float) -> np.ndarray:
            out = cv2.warpAffine(arr, matrix, (width, height), flags=flags,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=border)
            return _keep_channel_axis(out, arr)

        return _warp_all(results,
                         lambda a: warp(a, cv2.INTER_LINEAR, self.img_border_value),
                         lambda a: warp(a, cv2.INTER_NEAREST, self.seg_border_value))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(shift_limit={self.shift_limit}, '
                f'scale_limit={self.scale_limit}, rotate_limit={self.rotate_limit}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class RandomElasticDeform(BaseTransform):
    """Random elastic deformation (Simard et al.) of image and masks.

    A coarse random displacement grid (``grid`` x ``grid``), upsampled
    smoothly to full size, drives one ``cv2.remap``: bilinear for the image,
    nearest for the bit-packed labels.

    Args:
        alpha (float): Max displacement as a fraction of the image side. Defaults to 0.03.
        grid (int): Control points per side. Defaults to 4.
        prob (float): Probability of applying. Defaults to 0.3.
    """

    def __init__(self, alpha: float = 0.03, grid: int = 4, prob: float = 0.3) -> None:
        self.alpha = alpha
        self.grid = grid
        self.prob = prob

    @cache_randomness
    def _sample(self) -> Tuple[bool, np.ndarray]:
        return (np.random.rand() < self.prob,
                np.random.uniform(-1, 1, (2, self.grid, self.grid)).astype(np.float32))

    def transform(self, results: dict) -> dict:
        apply, coarse = self._sample()
        if not apply:
            return results
        height, width = results['img'].shape[:2]
        amplitude = self.alpha * max(height, width)
        dx = cv2.resize(coarse[0], (width, height), interpolation=cv2.INTER_CUBIC) * amplitude
        dy = cv2.resize(coarse[1], (width, height), interpolation=cv2.INTER_CUBIC) * amplitude
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32),
                             np.arange(height, dtype=np.float32))
        map_x, map_y = xs + dx, ys + dy

        def remap(arr: np.ndarray, flags: int) -> np.ndarray:
            out = cv2.remap(arr, map_x, map_y, flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            return _keep_channel_axis(out, arr)

        return _warp_all(results, lambda a: remap(a, cv2.INTER_LINEAR),
                         lambda a: remap(a, cv2.INTER_NEAREST))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(alpha={self.alpha}, grid={self.grid}, prob={self.prob})'
