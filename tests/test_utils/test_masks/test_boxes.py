"""One Box: a mask's bounding box (numpy, torch, margins), unions and intersections."""
import numpy as np
import pytest
import torch

from mmseg_ext.utils.masks.boxes import bounding_box, box_intersection, box_union
from mmseg_ext.utils.masks.mask_sources import PackedMasks, PlaneMasks


def _mask():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    mask[7, 4] = True
    return mask


@pytest.mark.parametrize('as_type', [np.asarray, torch.from_numpy,
                                     lambda m: m.astype(np.uint8)])
def test_bounding_box_of_numpy_torch_and_0_1_masks(as_type):
    assert bounding_box(as_type(_mask())) == (2, 8, 3, 9)
    assert bounding_box(as_type(np.zeros((4, 4), bool))) is None


def test_margin_grows_and_clips_to_the_mask():
    assert bounding_box(_mask(), (1, 2)) == (1, 9, 1, 11)
    assert bounding_box(_mask(), (5, 5)) == (0, 10, 0, 12)


def test_union_skips_none_and_empty_boxes_and_intersection():
    assert box_union([None, (2, 5, 3, 9), (4, 4, 0, 1), (1, 3, 6, 10)]) == (1, 5, 3, 10)
    assert box_union([None, (4, 4, 0, 1)]) is None
    assert box_intersection((2, 5, 3, 9), (1, 3, 6, 10)) == (2, 3, 6, 9)
    assert box_intersection((2, 5, 3, 9), (5, 6, 3, 9)) is None
    assert box_intersection(None, (5, 6, 3, 9)) is None


def test_plane_and_packed_sources_agree():
    masks = np.stack([_mask(), np.zeros((10, 12), bool), _mask()[::-1, ::-1]])
    bits = np.zeros((10, 12), np.int32)
    for c, plane in enumerate(masks):
        bits |= plane.astype(np.int32) << c
    planes, packed = PlaneMasks(masks), PackedMasks(bits)
    for c in range(3):
        assert planes.box(c) == packed.box(c) == bounding_box(masks[c])
        box = planes.box(c)
        if box is not None:
            np.testing.assert_array_equal(planes.crop(c, box), packed.crop(c, box))
            padded = planes.padded_crop(c, box)
            assert padded.dtype == np.uint8 and padded.shape == (box[1] - box[0] + 2,
                                                                 box[3] - box[2] + 2)
            np.testing.assert_array_equal(padded, packed.padded_crop(c, box))
            assert padded[0].sum() == padded[-1].sum() == 0
    with pytest.raises(ValueError, match='integer bit map'):
        PackedMasks(masks)
