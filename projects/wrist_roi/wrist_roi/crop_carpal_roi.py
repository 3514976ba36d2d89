"""Crop the carpal region (8 carpal bones' box + margin) at full resolution."""
from typing import Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_ext.utils.class_names import CARPAL_CLASSES, HAND_BONE_CLASSES
from mmseg_ext.utils.masks.boxes import bounding_box

CARPAL_START = HAND_BONE_CLASSES.index(CARPAL_CLASSES[0])  # bit of the first carpal


def carpal_box(masks_or_bits: np.ndarray, shape: Tuple[int, int], margin: float
               ) -> Optional[Tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the carpal bones plus ``margin`` x box size, or None.

    Args:
        masks_or_bits (np.ndarray): (H, W) int bit map (29 classes) or
            (8, H, W) bool carpal masks.
        shape (tuple): (H, W) of the image, to clip the box.
        margin (float): Margin on each side as a fraction of the box's size.
    """
    if masks_or_bits.ndim == 2:
        present = ((masks_or_bits.astype(np.int64) >> CARPAL_START) & 0xFF) > 0
    else:
        present = masks_or_bits.any(axis=0)
    box = bounding_box(present)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    dy, dx = int(round((y1 - y0) * margin)), int(round((x1 - x0) * margin))
    return (max(y0 - dy, 0), min(y1 + dy, shape[0]), max(x0 - dx, 0), min(x1 + dx, shape[1]))


@TRANSFORMS.register_module()
class CropCarpalROI(BaseTransform):
    """Cut the carpal box from the image (and masks) for the stage-2 model.

    The box is ``results['roi_box']`` when given (inference: stage 1's
    carpal prediction), else the ground-truth carpal bones' box (training),
    each grown by ``margin``. The 29-class bit map becomes an 8-class one
    (carpal bits moved to bits 0..7); ``img_shape``/``ori_shape`` become the
    crop's, so predictions are made and scored at crop size.

    Args:
        margin (float): Margin as a fraction of the box size. Defaults to 0.15.
        jitter (float): Random extra margin in [0, jitter] per side (training
            augmentation). Defaults to 0.
    """

    def __init__(self, margin: float = 0.15, jitter: float = 0.0) -> None:
        self.margin = margin
        self.jitter = jitter

    def _box(self, results: dict) -> Sequence[int]:
        shape = results['img'].shape[:2]
        if results.get('roi_box') is not None:
            return results['roi_box']
        if 'gt_seg_map' not in results:
            raise KeyError('CropCarpalROI needs roi_box (inference) or gt_seg_map (training)')
        margin = self.margin + (np.random.uniform(0, self.jitter) if self.jitter else 0.0)
        box = carpal_box(results['gt_seg_map'], shape, margin)
        if box is None:
            raise ValueError(f'{results.get("img_path", "?")}: no carpal bone annotated')
        return box

    def transform(self, results: dict) -> dict:
        y0, y1, x0, x1 = (int(v) for v in self._box(results))
        results['img'] = np.ascontiguousarray(results['img'][y0:y1, x0:x1])
        if 'gt_seg_map' in results:
            bits = results['gt_seg_map'][y0:y1, x0:x1]
            results['gt_seg_map'] = np.ascontiguousarray((bits >> CARPAL_START) & 0xFF).astype(
                np.int32)
        results['roi_box'] = (y0, y1, x0, x1)
        results['img_shape'] = results['ori_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(margin={self.margin}, jitter={self.jitter})'
