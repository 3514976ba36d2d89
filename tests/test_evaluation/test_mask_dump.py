"""``tools/test.py --out``: one packed mask file per image, equal to the submission's masks."""
import os
import os.path as osp

import numpy as np
import pytest

from mmseg_ext.utils.bitmask import load_mask_file, save_mask_file
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.submission import read_submission_masks
from tests.helpers import run_tool


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


def test_tools_test_out_equals_submission(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    out_dir, out_csv = tmp_path / 'masks', str(tmp_path / 'sub.csv')
    proc = run_tool('tools/test.py', config, ckpt, '--out', str(out_dir), '--submission', out_csv)
    assert 'MaskDump: wrote 2 mask files' in proc.stdout + proc.stderr
    image_root = osp.join(phantom_root, 'test', 'DCM')
    decoded = 0
    for name, _, masks in read_submission_masks(out_csv, image_root):
        loaded, classes = load_mask_file(str(out_dir / (osp.splitext(name)[0] + '.npz')))
        assert classes == list(HAND_BONE_CLASSES) and np.array_equal(loaded, masks)
        decoded += int(masks.any())
    assert decoded == 2, 'the checkpoint must predict something'
