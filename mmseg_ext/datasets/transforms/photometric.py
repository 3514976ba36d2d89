"""Photometric augmentations for uint8 grey X-rays (labels untouched)."""
from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomBrightnessContrastGamma(BaseTransform):
    """Random brightness, contrast and gamma in one uint8 lookup table.

    ``out = 255 * ((contrast * v / 255 + brightness) clipped to [0, 1]) ** gamma``.

    Args:
        brightness_limit (float): Brightness shift in [-l, l] (fraction of 255). Defaults to 0.2.
        contrast_limit (float): Contrast factor in [1 - l, 1 + l]. Defaults to 0.2.
        gamma_range (tuple): Gamma range. Defaults to (0.8, 1.2).
        prob (float): Probability of applying. Defaults to 0.5.
    """

    def __init__(self, brightness_limit: float = 0.2, contrast_limit: float = 0.2,
                 gamma_range: Tuple[float, float] = (0.8, 1.2), prob: float = 0.5) -> None:
        self.brightness_limit = brightness_limit
        self.contrast_limit = contrast_limit
        self.gamma_range = tuple(gamma_range)
        self.prob = prob

    @cache_randomness
    def _sample(self) -> Tuple[bool, float, float, float]:
        return (np.random.rand() < self.prob,
                np.random.uniform(-self.brightness_limit, self.brightness_limit),
                np.random.uniform(1 - self.contrast_limit, 1 + self.contrast_limit),
                np.random.uniform(*self.gamma_range))

    def transform(self, results: dict) -> dict:
        apply, brightness, contrast, gamma = self._sample()
        if not apply:
            return results
        if results['img'].dtype != np.uint8:
            raise TypeError(f'{self.__class__.__name__} needs a uint8 image')
        values = np.clip(contrast * np.arange(256) / 255.0 + brightness, 0, 1) ** gamma
        lut = np.rint(values * 255).astype(np.uint8)
        results['img'] = cv2.LUT(results['img'], lut).reshape(results['img'].shape)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness_limit={self.brightness_limit}, '
                f'contrast_limit={self.contrast_limit}, gamma_range={self.gamma_range}, '
                f'prob={self.prob})')


@TRANSFORMS.register_module()
class RandomNoiseBlur(BaseTransform):
    """Random Gaussian noise and/or Gaussian blur of the image.

    Args:
        noise_std (tuple): Range of the noise's standard deviation (grey
            levels). Defaults to (3.0, 10.0).
        blur_sigma (tuple): Range of the blur's sigma in pixels. Defaults to (0.3, 1.2).
        noise_prob (float): Probability of adding noise. Defaults to 0.3.
        blur_prob (float): Probability of blurring. Defaults to 0.2.
    """

    def __init__(self, noise_std: Tuple[float, float] = (3.0, 10.0),
                 blur_sigma: Tuple[float, float] = (0.3, 1.2),
                 noise_prob: float = 0.3, blur_prob: float = 0.2) -> None:
        self.noise_std = tuple(noise_std)
        self.blur_sigma = tuple(blur_sigma)
        self.noise_prob = noise_prob
        self.blur_prob = blur_prob

    @cache_randomness
    def _sample(self) -> Tuple[float, float]:
        std = np.random.uniform(*self.noise_std) if np.random.rand() < self.noise_prob else 0.0
        sigma = np.random.uniform(*self.blur_sigma) if np.random.rand() < self.blur_prob else 0.0
        return std, sigma

    def transform(self, results: dict) -> dict:
        std, sigma = self._sample()
        img = results['img']
        if sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), sigma).reshape(img.shape)
        if std > 0:
            # one noise field for all channels (a grey X-ray repeated), or none for (H, W)
            noise_shape = img.shape[:2] + (1, ) * (img.ndim - 2)
            noisy = img.astype(np.float32) + np.random.normal(0, std, noise_shape)
            img = np.clip(np.rint(noisy), 0, 255).astype(results['img'].dtype)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(noise_std={self.noise_std}, blur_sigma='
                f'{self.blur_sigma}, noise_prob={self.noise_prob}, blur_prob={self.blur_prob})')
