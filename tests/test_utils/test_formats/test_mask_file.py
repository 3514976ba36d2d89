"""The --out mask file: written atomically, read back exactly, errors name the file."""
import os

import numpy as np
import pytest

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.mask_file import load_mask_file, save_mask_file


def test_mask_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((29, 33, 47)) < 0.3  # overlapping classes
    path = str(tmp_path / 'a.npz')
    save_mask_file(path, masks, HAND_BONE_CLASSES)
    loaded, classes = load_mask_file(path)
    assert classes == list(HAND_BONE_CLASSES)
    assert loaded.dtype == bool and np.array_equal(loaded, masks)
    assert os.listdir(tmp_path) == ['a.npz']  # no temporary left


def test_mask_file_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match='3 mask planes, 29 class names'):
        save_mask_file(str(tmp_path / 'b.npz'), np.zeros((3, 4, 4), bool), HAND_BONE_CLASSES)
    bad = tmp_path / 'bad.npz'
    bad.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='bad.npz: not a mask file'):
        load_mask_file(str(bad))
