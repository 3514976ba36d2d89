import csv

import cv2
import numpy as np
import pytest

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.submission import SubmissionError, check_submission


@pytest.fixture
def image_root(tmp_path):
    for folder, name in [('ID001', 'b_R.png'), ('ID000', 'a_L.png')]:
        path = tmp_path / 'DCM' / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((8, 10), np.uint8))
    return str(tmp_path / 'DCM')


def _write(path, rows, header=('image_name', 'class', 'rle')):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _good_rows():
    rows = []
    for name in ('a_L.png', 'b_R.png'):  # sorted by path: ID000 before ID001
        rows += [(name, c, '1 3 11 2' if i == 0 else '') for i, c in enumerate(HAND_BONE_CLASSES)]
    return rows


def test_valid_submission(image_root, tmp_path):
    assert check_submission(_write(tmp_path / 's.csv', _good_rows()), image_root) == {
        'images': 2, 'rows': 58, 'longest_rle': len('1 3 11 2')}


@pytest.mark.parametrize('mutate,message', [
    (lambda r: (r, ('image', 'class', 'rle')), 'header'),
    (lambda r: (r[:-1], None), 'last image has 28 rows'),
    (lambda r: (r[:28] + r[29:], None), "has 28 rows"),
    (lambda r: ([(n, HAND_BONE_CLASSES[(i + 1) % 29] if i == 0 else c, x)
                 for i, (n, c, x) in enumerate(r)], None), 'class order'),
    (lambda r: ([('zz.png', c, x) if i < 29 else (n, c, x)
                 for i, (n, c, x) in enumerate(r)], None), "unknown image 'zz.png'"),
    (lambda r: (r[29:] + r[:29], None), 'sorted path order'),
    (lambda r: (r + r[:29], None), 'appears twice'),
    (lambda r: ([(n, c, '79 5') if i == 3 else (n, c, x)
                 for i, (n, c, x) in enumerate(r)], None), 'beyond the 8x10'),
    (lambda r: ([(n, c, '5 2 1 1') if i == 3 else (n, c, x)
                 for i, (n, c, x) in enumerate(r)], None), 'increasing'),
    (lambda r: ([(n, c, '1 x') if i == 3 else (n, c, x)
                 for i, (n, c, x) in enumerate(r)], None), 'non-integer'),
])
def test_bad_submissions_are_reported_with_line(image_root, tmp_path, mutate, message):
    rows, header = mutate(_good_rows())
    path = _write(tmp_path / 's.csv', rows, header or ('image_name', 'class', 'rle'))
    with pytest.raises(SubmissionError, match=message) as err:
        check_submission(path, image_root)
    assert 's.csv' in str(err.value)


def test_duplicate_image_names_are_refused(image_root, tmp_path):
    dup = tmp_path / 'DCM' / 'ID002' / 'a_L.png'
    dup.parent.mkdir()
    cv2.imwrite(str(dup), np.zeros((8, 10), np.uint8))
    with pytest.raises(SubmissionError, match="two images are named 'a_L.png'"):
        check_submission(_write(tmp_path / 's.csv', _good_rows()), image_root)
