"""Per-class masks read box by box: given as planes or as one packed bit map.

Both containers answer the same three questions for class ``c``: its bounding
box (cached or found in one pass), its pixels inside a box, and those pixels
with one background pixel around them (for an erosion). Metrics that only
need each class's box (Dice counts, boundary distances) then never form a
full-size plane.
"""
from typing import Dict, Optional

import numpy as np
import torch

from .boxes import Box, Plane, as_bool_array, bounding_box


def padded(crop: np.ndarray) -> np.ndarray:
    """A 0/1 crop as uint8 with one background pixel around it.

    Args:
        crop (np.ndarray): (h, w) bool or 0/1 integer array.
    """
    out = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)
    out[1:-1, 1:-1] = crop
    return out


class PlaneMasks:
    """Masks given as (C, H, W) planes (numpy or torch); boxes are cached.

    Args:
        masks (np.ndarray | Tensor): (C, H, W) bool masks.
    """

    def __init__(self, masks: Plane) -> None:
        self.masks = masks
        self._boxes: Dict[int, Optional[Box]] = {}

    def box(self, c: int) -> Optional[Box]:
        """Class ``c``'s bounding box, None when empty.

        Args:
            c (int): Class index.
        """
        if c not in self._boxes:
            self._boxes[c] = bounding_box(self.masks[c])
        return self._boxes[c]

    def crop(self, c: int, box: Box) -> np.ndarray:
        """Class ``c`` inside ``box`` as a bool numpy array.

        Args:
            c (int): Class index.
            box (tuple): (y0, y1, x0, x1).
        """
        y0, y1, x0, x1 = box
        return as_bool_array(self.masks[c][y0:y1, x0:x1])

    def padded_crop(self, c: int, box: Box) -> np.ndarray:
        """:meth:`crop` as uint8 0/1 with one background pixel around it.

        Args:
            c (int): Class index.
            box (tuple): (y0, y1, x0, x1).
        """
        return padded(self.crop(c, box))


class PackedMasks:
    """Masks given as one (H, W) integer map with bit ``c`` set inside class ``c``.

    Every class's box comes from one OR over the rows and one over the
    columns; a class's plane is formed only inside a box.

    Args:
        bits (np.ndarray | Tensor): (H, W) integer bit map.
    """

    def __init__(self, bits: Plane) -> None:
        if isinstance(bits, torch.Tensor):
            bits = bits.detach().cpu().numpy()
        self.bits = np.asarray(bits)
        if self.bits.ndim != 2 or self.bits.dtype.kind not in 'iu':
            raise ValueError(f'a packed ground truth must be an (H, W) integer bit map, got '
                             f'{self.bits.dtype} {self.bits.shape}')
        self.rows = np.bitwise_or.reduce(self.bits, axis=1)
        self.cols = np.bitwise_or.reduce(self.bits, axis=0)

    def box(self, c: int) -> Optional[Box]:
        """Class ``c``'s bounding box, None when empty.

        Args:
            c (int): Class index (bit).
        """
        rows = np.flatnonzero((self.rows >> c) & 1)
        if not rows.size:
            return None
        cols = np.flatnonzero((self.cols >> c) & 1)
        return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1

    def crop(self, c: int, box: Box) -> np.ndarray:
        """Class ``c`` inside ``box`` as a bool numpy array.

        Args:
            c (int): Class index (bit).
            box (tuple): (y0, y1, x0, x1).
        """
        y0, y1, x0, x1 = box
        return ((self.bits[y0:y1, x0:x1] >> c) & 1).astype(bool)

    def padded_crop(self, c: int, box: Box) -> np.ndarray:
        """:meth:`crop` as uint8 0/1 with one background pixel around it.

        Args:
            c (int): Class index (bit).
            box (tuple): (y0, y1, x0, x1).
        """
        y0, y1, x0, x1 = box
        return padded((self.bits[y0:y1, x0:x1] >> c) & 1)
