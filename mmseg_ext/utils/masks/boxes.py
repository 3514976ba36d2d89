"""Boxes of masks: the one ``Box`` type, a mask's bounding box, unions and intersections."""
from typing import Iterable, Optional, Tuple, Union

import cv2
import numpy as np
import torch

Box = Tuple[int, int, int, int]  # (y0, y1, x0, x1), ends exclusive
Plane = Union[np.ndarray, torch.Tensor]


def as_bool_array(plane: Plane) -> np.ndarray:
    """A mask (numpy or torch, any device, bool or 0/1) as a bool numpy array.

    Args:
        plane (np.ndarray | Tensor): The mask; bool arrays are returned as they are.
    """
    if isinstance(plane, torch.Tensor):
        plane = plane.detach().cpu().numpy()
    plane = np.asarray(plane)
    return plane if plane.dtype == bool else plane != 0


def bounding_box(mask: Plane, margin: Tuple[int, int] = (0, 0)) -> Optional[Box]:
    """The box of an (H, W) mask's foreground grown by ``margin`` on each side and clipped
    to the mask, or None for an empty mask.

    A torch mask on a GPU is searched on the device (only four numbers come to the host).

    Args:
        mask (np.ndarray | Tensor): (H, W) bool or 0/1 mask.
        margin (tuple[int, int]): (dy, dx) added above and below, left and right.

    Returns:
        tuple | None: (y0, y1, x0, x1), ends exclusive.
    """
    if isinstance(mask, torch.Tensor) and mask.device.type != 'cpu':
        rows = torch.nonzero(mask.any(dim=1)).flatten()
        if not rows.numel():
            return None
        cols = torch.nonzero(mask.any(dim=0)).flatten()
        y0, y1, x0, x1 = torch.stack([rows[0], rows[-1], cols[0], cols[-1]]).tolist()
        y1, x1 = y1 + 1, x1 + 1
    else:
        x0, y0, width, height = cv2.boundingRect(
            np.ascontiguousarray(as_bool_array(mask)).view(np.uint8))
        if width == 0:
            return None
        y1, x1 = y0 + height, x0 + width
    dy, dx = margin
    if dy or dx:
        height, width = mask.shape[-2:]
        return max(y0 - dy, 0), min(y1 + dy, height), max(x0 - dx, 0), min(x1 + dx, width)
    return y0, y1, x0, x1


def box_union(boxes: Iterable[Optional[Box]]) -> Optional[Box]:
    """The smallest box holding every non-empty box of ``boxes`` (None entries and empty
    boxes are skipped), or None when there is none.

    Args:
        boxes (Iterable[tuple | None]): (y0, y1, x0, x1) boxes.
    """
    kept = [b for b in boxes if b is not None and b[0] < b[1] and b[2] < b[3]]
    if not kept:
        return None
    return (min(b[0] for b in kept), max(b[1] for b in kept),
            min(b[2] for b in kept), max(b[3] for b in kept))


def box_intersection(a: Optional[Box], b: Optional[Box]) -> Optional[Box]:
    """The overlap of two boxes, or None when either is None or they do not overlap.

    Args:
        a (tuple | None): (y0, y1, x0, x1).
        b (tuple | None): (y0, y1, x0, x1).
    """
    if a is None or b is None:
        return None
    box = max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])
    return box if box[0] < box[1] and box[2] < box[3] else None
