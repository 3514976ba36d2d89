"""Masks back to competition polygon annotations (pseudo-labels)."""
from typing import List, Sequence

import cv2
import numpy as np


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
