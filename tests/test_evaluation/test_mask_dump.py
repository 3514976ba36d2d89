"""``tools/test.py --out``: one packed mask file per image, equal to the submission's masks."""
import os.path as osp

import numpy as np
import pytest

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.mask_file import load_mask_file
from mmseg_ext.utils.formats.submission import read_submission_masks
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # tiny_run and a tools/test.py process


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
