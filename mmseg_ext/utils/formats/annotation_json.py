"""The competition's polygon annotation JSON (``outputs_json/IDxxx/*.json``): read and
validated into polygons for the dataset, and written from masks (pseudo-labels)."""
import json
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

Polygon = Tuple[int, np.ndarray]  # (class index, (K, 2) float32 points)


class AnnotationError(ValueError):
    """Raised for an annotation file that cannot be turned into a mask."""


def _check_points(points, path: str, index: int) -> np.ndarray:
    """Return ``points`` as a (K, 2) float32 array or raise naming the file."""
    if not isinstance(points, list) or len(points) < 3:
        raise AnnotationError(
            f'{path}: annotation #{index}: "points" must be a list of at least '
            f'3 [x, y] pairs, got {type(points).__name__} of length '
            f'{len(points) if isinstance(points, list) else "n/a"}')
    try:
        arr = np.asarray(points, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise AnnotationError(
            f'{path}: annotation #{index}: "points" are not numbers ({err})') from err
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise AnnotationError(
            f'{path}: annotation #{index}: "points" must be finite [x, y] pairs, '
            f'got an array of shape {arr.shape}')
    return arr


def parse_annotation_file(path: str, class_to_index: Dict[str, int]) -> List[Polygon]:
    """Parse one ``outputs_json`` file into polygons.

    Args:
        path (str): Path of the JSON file.
        class_to_index (dict): Class name -> channel index.

    Returns:
        list[tuple[int, np.ndarray]]: (class index, (K, 2) points) per polygon.

    Raises:
        AnnotationError: Unreadable JSON, missing keys, an unknown label or
            malformed points; the message names the file.
    """
    try:
        with open(path, 'rb') as f:
            content = json.loads(f.read())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnnotationError(f'{path}: not a readable JSON file ({err})') from err
    annotations = content.get('annotations') if isinstance(content, dict) else None
    if not isinstance(annotations, list):
        raise AnnotationError(f'{path}: expected {{"annotations": [...]}} at the top level')
    polygons = []
    for index, ann in enumerate(annotations):
        if not isinstance(ann, dict) or 'label' not in ann or 'points' not in ann:
            raise AnnotationError(
                f'{path}: annotation #{index} needs "label" and "points"')
        label = ann['label']
        if label not in class_to_index:
            raise AnnotationError(
                f'{path}: annotation #{index}: unknown label {label!r}; '
                f'expected one of the {len(class_to_index)} classes')
        polygons.append((class_to_index[label], _check_points(ann['points'], path, index)))
    return polygons


def count_polygons_past_border(polygons: Sequence[Polygon], shape: Tuple[int, int],
                               path: str) -> int:
    """Count polygons that reach past an image of ``shape`` (H, W).

    Such polygons are kept: rasterising fills their in-image part, as
    ``cv2.fillPoly`` clips (a point placed on the border can land at -1).

    Raises:
        AnnotationError: A polygon with no point inside the image: its
            coordinates belong to another image size. Names the file.
    """
    height, width = shape
    past = 0
    for class_index, points in polygons:
        xs, ys = points[:, 0], points[:, 1]
        inside = (xs >= 0) & (xs <= width) & (ys >= 0) & (ys <= height)
        if not inside.any():
            raise AnnotationError(
                f'{path}: a polygon of class #{class_index} has no point inside the '
                f'{width}x{height} image (x in [{xs.min():g}, {xs.max():g}], '
                f'y in [{ys.min():g}, {ys.max():g}]): annotations of another image size?')
        past += int(not inside.all())
    return past


def mask_to_polygons(mask: np.ndarray, min_area: int = 0) -> List[List[List[int]]]:
    """Outer contours of a bool mask's components as ``[[x, y], ...]`` point lists.

    Components smaller than ``min_area`` pixels and contours of fewer than
    3 points are dropped.
    """
    if not mask.any():
        return []
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        points = contour[:, 0, :]
        if len(points) < 3:
            continue
        if min_area > 0:
            x, y, w, h = cv2.boundingRect(points)  # fill only the contour's box
            filled = np.zeros((h, w), np.uint8)
            cv2.fillPoly(filled, [points - np.array([x, y], points.dtype)], 1)
            if int(filled.sum()) < min_area:
                continue
        polygons.append(points.tolist())
    return polygons


def masks_to_annotations(masks: np.ndarray, classes: Sequence[str],
                         min_area: int = 0) -> dict:
    """(C, H, W) masks -> ``{"annotations": [{"label", "points"}, ...]}``."""
    annotations = []
    for mask, label in zip(masks, classes):
        annotations += [{'label': label, 'points': points}
                        for points in mask_to_polygons(mask, min_area)]
    return {'annotations': annotations}
