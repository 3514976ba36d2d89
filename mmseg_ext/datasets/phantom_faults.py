"""Phantom ground-truth masks and label faults injected into them, for checking the
anatomical check (tests, ``benchmarks/anatomy_check.py``) on known faults.

Faults (one class each, ``swap`` two): ``drop`` empties the class, ``split`` cuts a
band across its middle, ``blob`` adds a disc of its area elsewhere on the hand,
``swap`` exchanges it with another class, ``shrink``/``grow`` rescale it to 60 % /
140 % of its area about its centroid.
"""
from typing import Tuple

import cv2
import numpy as np

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
from mmseg_ext.utils.masks.boxes import bounding_box

from .phantoms import render_hand

FAULTS = ('drop', 'split', 'blob', 'swap', 'shrink', 'grow')


def phantom_masks(size: int, rng: np.random.Generator) -> np.ndarray:
    """(29, size, size) bool ground truth of a random phantom hand.

    Args:
        size (int): Image side in pixels.
        rng (np.random.Generator): Draws the hand (and its side).
    """
    _, bones = render_hand(size, rng, left=bool(rng.integers(2)))
    polygons = [(HAND_BONE_CLASSES.index(k), v) for k, v in bones.items()]
    return unpack_bits(rasterize_bitmask(polygons, (size, size)), len(HAND_BONE_CLASSES))


def _rescale(mask: np.ndarray, area_factor: float) -> np.ndarray:
    """The mask scaled about its centroid to ``area_factor`` times its area."""
    ys, xs = np.nonzero(mask)
    matrix = cv2.getRotationMatrix2D((float(xs.mean()), float(ys.mean())), 0,
                                     float(np.sqrt(area_factor)))
    out = cv2.warpAffine(mask.astype(np.uint8), matrix, mask.shape[::-1], flags=cv2.INTER_NEAREST)
    return out.astype(bool)


def _split(mask: np.ndarray) -> np.ndarray:
    """A band a tenth of the box's long side cut across the middle."""
    y0, y1, x0, x1 = bounding_box(mask)
    out = mask.copy()
    if y1 - y0 >= x1 - x0:
        mid, band = (y0 + y1) // 2, max(2, (y1 - y0) // 10)
        out[mid - band // 2:mid + band - band // 2] = False
    else:
        mid, band = (x0 + x1) // 2, max(2, (x1 - x0) // 10)
        out[:, mid - band // 2:mid + band - band // 2] = False
    return out


def _blob(masks: np.ndarray, c: int, rng: np.random.Generator) -> np.ndarray:
    """A disc of the class's area on the hand, at least 3 class sides from the class."""
    out = masks[c].copy()
    side = np.sqrt(out.sum())
    cy, cx = np.argwhere(out).mean(axis=0)
    hand = np.argwhere(masks.any(axis=0))
    for _ in range(100):
        y, x = hand[rng.integers(len(hand))]
        if np.hypot(y - cy, x - cx) > 3 * side:
            break
    cv2.circle(out.view(np.uint8), (int(x), int(y)), max(2, int(side / np.sqrt(np.pi))), 1, -1)
    return out


def inject_fault(masks: np.ndarray, fault: str,
                 rng: np.random.Generator) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """``masks`` with one fault on a random class.

    Args:
        masks (np.ndarray): (C, H, W) bool masks; not changed.
        fault (str): One of :data:`FAULTS`.
        rng (np.random.Generator): Draws the class (and the blob's place, the swap's
            partner).

    Returns:
        tuple: The faulty (C, H, W) masks and the indices of the affected classes.

    Raises:
        ValueError: An unknown fault.
    """
    if fault not in FAULTS:
        raise ValueError(f'fault must be one of {FAULTS}, got {fault!r}')
    out = masks.copy()
    c = int(rng.integers(len(masks)))
    if fault == 'drop':
        out[c] = False
    elif fault == 'split':
        out[c] = _split(masks[c])
    elif fault == 'blob':
        out[c] = _blob(masks, c, rng)
    elif fault == 'swap':
        d = int(rng.choice([k for k in range(len(masks)) if k != c]))
        out[c], out[d] = masks[d], masks[c]
        return out, (c, d)
    else:
        out[c] = _rescale(masks[c], 0.6 if fault == 'shrink' else 1.4)
    return out, (c, )
