"""Colour overlays of multi-label masks on a grey X-ray."""
from typing import Sequence

import numpy as np


def overlay_masks(img: np.ndarray, masks: np.ndarray, palette: Sequence[Sequence[int]],
                  alpha: float = 0.5) -> np.ndarray:
    """Blend (C, H, W) bool masks onto an image; overlapping classes mix their colours.

    Args:
        img (np.ndarray): (H, W) or (H, W, 1|3) uint8 image.
        masks (np.ndarray): (C, H, W) bool masks.
        palette (Sequence): C RGB colours.
        alpha (float): Opacity of the colours. Defaults to 0.5.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    base = img if img.ndim == 3 else img[..., None]
    base = np.repeat(base[..., :1], 3, axis=2).astype(np.float32) if base.shape[2] == 1 \
        else base.astype(np.float32)
    colour = np.zeros_like(base)
    count = np.zeros(base.shape[:2] + (1, ), np.float32)
    for mask, rgb in zip(masks, palette):
        colour[mask] += np.asarray(rgb, np.float32)
        count[mask] += 1
    covered = count[..., 0] > 0
    mixed = colour[covered] / count[covered]
    base[covered] = (1 - alpha) * base[covered] + alpha * mixed
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)
