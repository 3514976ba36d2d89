"""Phantom ground-truth masks and label faults injected into them, for checking the
anatomical check (tests, ``benchmarks/anatomy_check.py``) on known faults.

Faults (one class each, ``swap`` two): ``drop`` empties the class, ``split`` cuts a
band across its middle, ``blob`` adds a disc of its area elsewhere on the hand,
``swap`` exchanges it with another class, ``shrink``/``grow`` rescale it to 60 % /
140 % of its area about its centroid.
"""
from typing import List, Tuple

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


# Label faults of an annotation file, for the label audit (``benchmarks/label_audit.py``):
# the kinds ``tools/audit_labels.py`` names. Sizes are given at 2048² and scaled to the image.
LABEL_FAULTS = ('swap', 'missing', 'extra', 'shift', 'boundary')
SHIFT_PX_2048 = 15.0
BOUNDARY_PX_2048 = (8.0, 10.0)


def _polygon_mask(points: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.rint(points).astype(np.int32)], 1)
    return mask.astype(bool)


def _largest_contour(mask: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    return max(contours, key=cv2.contourArea)[:, 0, :].astype(float)


def _offset_boundary(points: np.ndarray, size: int, distance: float) -> np.ndarray:
    """The polygon's outline moved ``distance`` pixels outwards (< 0: inwards)."""
    mask = _polygon_mask(points, size)
    if distance > 0:
        grown = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5) <= distance
    else:
        grown = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5) > -distance
    if not grown.any():
        raise ValueError(f'moving the outline {distance:.1f} px leaves nothing of the bone: '
                         'use a larger image size')
    return _largest_contour(grown)


def _disc_away(points: np.ndarray, hand: np.ndarray, size: int,
               rng: np.random.Generator) -> np.ndarray:
    """A disc of the polygon's area on the hand, at least 3 of its sides from it."""
    area = max(float(_polygon_mask(points, size).sum()), 4.0)
    centre = points.mean(axis=0)
    for _ in range(100):
        x, y = hand[rng.integers(len(hand))]
        if np.hypot(x - centre[0], y - centre[1]) > 3 * np.sqrt(area):
            break
    radius = max(2.0, np.sqrt(area / np.pi))
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    return np.stack([x + radius * np.cos(angles), y + radius * np.sin(angles)], axis=1)


def _nearest_fingers(annotations: list, index: int, count: int) -> List[int]:
    """Indices of the ``count`` finger annotations whose centres are nearest ``index``'s."""
    centre = np.mean(annotations[index]['points'], axis=0)
    others = [i for i, a in enumerate(annotations)
              if a['label'].startswith('finger-') and i != index]
    return sorted(others, key=lambda i: np.linalg.norm(
        np.mean(annotations[i]['points'], axis=0) - centre))[:count]


def inject_label_fault(annotations: list, kind: str, size: int,
                       rng: np.random.Generator) -> Tuple[list, Tuple[str, ...]]:
    """An annotation list (``[{'label', 'points'}]``) with one label fault.

    ``swap`` exchanges the names of a finger bone and one of its two nearest finger bones;
    ``missing`` drops a bone; ``extra`` adds a disc of the bone's area under its name
    elsewhere on the hand; ``shift`` moves a bone 15 px (at 2048²) in a random direction;
    ``boundary`` moves its outline 8-10 px (at 2048²) outwards or inwards.

    Args:
        annotations (list): The file's annotations; not changed.
        kind (str): One of :data:`LABEL_FAULTS`.
        size (int): Image side in pixels (the fault sizes scale with it).
        rng (np.random.Generator): Draws the bone, the partner, the place, the direction.

    Returns:
        tuple: The faulty annotations and the labels of the affected bones.

    Raises:
        ValueError: An unknown kind.
    """
    if kind not in LABEL_FAULTS:
        raise ValueError(f'kind must be one of {LABEL_FAULTS}, got {kind!r}')
    out = [dict(label=a['label'], points=np.asarray(a['points'], float)) for a in annotations]
    scale = size / 2048
    if kind == 'swap':
        fingers = [i for i, a in enumerate(out) if a['label'].startswith('finger-')]
        i = int(rng.choice(fingers))
        j = int(rng.choice(_nearest_fingers(out, i, 2)))
        out[i]['label'], out[j]['label'] = out[j]['label'], out[i]['label']
        affected = (annotations[i]['label'], annotations[j]['label'])
    else:
        i = int(rng.integers(len(out)))
        affected = (out[i]['label'], )
        if kind == 'missing':
            del out[i]
        elif kind == 'extra':
            hand = np.concatenate([a['points'] for a in out])
            out.append(dict(label=out[i]['label'],
                            points=_disc_away(out[i]['points'], hand, size, rng)))
        elif kind == 'shift':
            angle = rng.uniform(0, 2 * np.pi)
            out[i]['points'] = out[i]['points'] + SHIFT_PX_2048 * scale * np.array(
                [np.cos(angle), np.sin(angle)])
        else:
            distance = rng.uniform(*BOUNDARY_PX_2048) * scale * rng.choice([-1, 1])
            out[i]['points'] = _offset_boundary(out[i]['points'], size, distance)
    return [dict(label=a['label'], points=np.round(a['points'], 1).tolist()) for a in out], \
        affected
