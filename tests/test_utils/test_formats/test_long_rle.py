"""Every reader and writer of a submission takes a multi-megabyte RLE field.

The worst case at the users' size: a 2048² checkerboard (2M runs, ~21 MB of
RLE), far past Python's default csv field limit (131072 characters).
"""
import csv
import json
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.submission_hook import SubmissionHook
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.rle import rle_decode
from mmseg_ext.utils.formats.submission import (SubmissionWriter, check_submission, read_csv_rows,
                                                read_submission_images)
from tests.helpers import run_tool

SIZE = 2048
DEFAULT_CSV_LIMIT = 131072


def _checkerboard_masks() -> np.ndarray:
    """(29, 2048, 2048): class 0 a checkerboard, class 28 a square, the rest empty."""
    masks = np.zeros((len(HAND_BONE_CLASSES), SIZE, SIZE), bool)
    yy, xx = np.indices((SIZE, SIZE))
    masks[0] = (yy + xx) % 2 == 0
    masks[28, 100:300, 200:400] = True
    return masks


@pytest.fixture(scope='module')
def long_rle_case(tmp_path_factory):
    """(image_root, image path, masks, submission CSV) for one 2048² image."""
    tmp = tmp_path_factory.mktemp('long_rle')
    image = tmp / 'DCM' / 'ID001' / 'image1661130828152_R.png'
    image.parent.mkdir(parents=True)
    cv2.imwrite(str(image), np.zeros((SIZE, SIZE), np.uint8))
    masks = _checkerboard_masks()
    out_csv = str(tmp / 'submission.csv')
    with SubmissionWriter(out_csv, HAND_BONE_CLASSES) as writer:
        writer.write_image(image.name, masks)
    return str(tmp / 'DCM'), str(image), masks, out_csv


def test_checkerboard_rle_is_past_the_default_csv_limit(long_rle_case):
    _, _, _, out_csv = long_rle_case
    longest = max(len(row[2]) for row in read_csv_rows(out_csv))
    assert longest > 100 * DEFAULT_CSV_LIMIT  # ~21 MB: 2M runs


def test_checker_reads_long_fields(long_rle_case):
    image_root, _, _, out_csv = long_rle_case
    counts = check_submission(out_csv, image_root)
    assert counts['images'] == 1 and counts['rows'] == 29
    assert counts['longest_rle'] > 100 * DEFAULT_CSV_LIMIT


def test_image_reader_decodes_long_fields_exactly(long_rle_case):
    _, _, masks, out_csv = long_rle_case
    [(name, rles)] = list(read_submission_images(out_csv))
    assert name == 'image1661130828152_R.png'
    decoded = np.stack([rle_decode(rle, (SIZE, SIZE)) for rle in rles])
    assert np.array_equal(decoded, masks)


@pytest.mark.slow
def test_check_submission_tool_and_overlays(long_rle_case, tmp_path):
    image_root, _, _, out_csv = long_rle_case
    out = run_tool('tools/analysis_tools/check_submission.py', out_csv, image_root,
                   '--out-dir', str(tmp_path / 'overlays')).stdout
    assert out.startswith('OK: 1 images, 29 rows')
    overlay = cv2.imread(str(tmp_path / 'overlays' / 'image1661130828152_R.png'))
    assert overlay.shape == (SIZE, SIZE, 3)


@pytest.mark.slow
def test_pseudo_label_tool(long_rle_case, tmp_path):
    image_root, _, _, out_csv = long_rle_case
    out = run_tool('tools/pseudo_label.py', out_csv, image_root, str(tmp_path / 'json')).stdout
    assert 'wrote 1 annotation files' in out
    with open(tmp_path / 'json' / 'ID001' / 'image1661130828152_R.json') as f:
        labels = [a['label'] for a in json.load(f)['annotations']]
    assert 'finger-1' in labels and 'Ulna' in labels


def test_submission_hook_merges_long_fields(long_rle_case, tmp_path):
    """The hook's part file -> merged CSV path, the one that crashed at 2048²."""
    _, image_path, masks, _ = long_rle_case
    runner = SimpleNamespace(
        work_dir=str(tmp_path / 'work'),
        test_dataloader=SimpleNamespace(dataset=_SizedDataset(1),
                                        sampler=SimpleNamespace(shuffle=False)))
    out_csv = str(tmp_path / 'hook.csv')
    hook = SubmissionHook(out_csv)
    hook.before_test(runner)
    sample = SegDataSample(metainfo=dict(img_path=image_path))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(masks))
    hook.after_test_iter(runner, 0, outputs=[sample])
    hook.after_test_epoch(runner)
    with open(out_csv, newline='') as f:
        csv.field_size_limit(2**31 - 1)
        rows = list(csv.reader(f))
    assert len(rows) == 30
    assert np.array_equal(rle_decode(rows[1][2], (SIZE, SIZE)), masks[0])
    assert not osp.exists(osp.join(runner.work_dir, 'submission_parts'))


class _SizedDataset:
    metainfo = {'classes': HAND_BONE_CLASSES}

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size
