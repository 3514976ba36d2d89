import numpy as np
import torch

from mmseg_ext.utils.postprocessing.mask_cleanup import clean_mask, clean_masks


def _mask():
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = True     # 36 px
    mask[12:14, 12:14] = True  # 4 px
    mask[18, 0] = True         # 1 px
    return mask


def test_keep_largest_and_min_area():
    mask = _mask()
    largest = clean_mask(mask, keep_largest=True)
    assert largest.sum() == 36 and largest[2:8, 2:8].all()
    assert clean_mask(mask, min_area=4).sum() == 40
    assert (clean_mask(mask) == mask).all()
    assert not clean_mask(np.zeros((4, 4), bool), keep_largest=True).any()


def test_clean_masks_per_class():
    masks = torch.from_numpy(np.stack([_mask(), _mask()]))
    out = clean_masks(masks, min_area=5, classes=[1])
    assert out[0].sum() == 41 and out[1].sum() == 36


def test_closing_and_hole_filling():
    mask = np.zeros((20, 20), bool)
    mask[4:14, 4:14] = True
    mask[8:10, 8:10] = False   # a hole
    mask[4:14, 9] = False      # a 1-px crack that splits the square
    filled = clean_mask(mask, fill_holes=True)
    assert filled.sum() == mask.sum()  # the crack opens the hole to the outside
    closed = clean_mask(mask, close_kernel=3)
    assert closed[4:14, 9][1:-1].all()
    both = clean_mask(mask, close_kernel=3, fill_holes=True)
    assert both[5:13, 5:13].all()
    ring = np.zeros((9, 9), bool)
    ring[1:8, 1:8] = True
    ring[3:6, 3:6] = False
    assert clean_mask(ring, fill_holes=True)[1:8, 1:8].all()
