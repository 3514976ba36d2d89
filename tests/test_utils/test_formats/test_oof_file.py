"""Out-of-fold ``.npz`` files: the write/read round trip (header, float16 logits), atomic
replacement, errors naming the file, ``stored_matches``, ``oof_keys``, and the precision
claim of the format: masks re-made from the float16 logits differ from those of the float32
logits only at pixels whose probability lies within 1e-3 of the threshold."""
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.oof_file import (LOGIT_LIMIT, OofFileError, OofRecord, oof_keys,
                                              oof_path, read_oof_file, read_oof_header,
                                              stored_matches, write_oof_file)
from mmseg_ext.utils.postprocessing.box_merge import merge_masks
from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews

KEY = 'ID001/image1661130828152_R'
FLIP = dict(flip=True, flip_direction='horizontal')


def _record(seed=0, classes=('a', 'b', 'c'), map_size=(8, 8), input_size=(32, 32),
            size=(40, 36), std=3.0, checkpoint='best_mDice_iter_100.pth', tta=True, **raw):
    g = torch.Generator().manual_seed(seed)
    views = [RawView(torch.randn((len(classes), ) + map_size, generator=g) * std, input_size,
                     transforms)
             for transforms in ({}, FLIP)]
    return OofRecord(KEY, 'image1661130828152_R.png', 2, checkpoint, tta, list(classes),
                     RawViews(size, views=views, **raw))


def test_round_trip(tmp_path):
    record = _record(space='vote', vote_thresholds=[0.4, 0.5, 0.6])
    record.raw.views[1].transforms = dict(FLIP, img_padding_size=[0, 4, 0, 4])
    path = oof_path(str(tmp_path / 'oof'), KEY)
    assert path == osp.join(str(tmp_path), 'oof', 'ID001', 'image1661130828152_R.npz')
    size = write_oof_file(path, record)
    assert size == osp.getsize(path) > 0
    back = read_oof_file(path)
    assert read_oof_header(path) == record.header()
    assert back.header() == record.header()
    assert (back.key, back.image_name, back.fold, back.checkpoint, back.tta) == \
        (KEY, 'image1661130828152_R.png', 2, 'best_mDice_iter_100.pth', True)
    assert back.classes == ['a', 'b', 'c']
    assert back.raw.size == (40, 36) and back.raw.space == 'vote'
    assert back.raw.vote_thresholds == [0.4, 0.5, 0.6]
    for got, want in zip(back.raw.views, record.raw.views):
        assert got.logits.dtype == torch.float16
        assert torch.equal(got.logits, want.logits.half())
        assert got.input_size == (32, 32)
        assert got.transforms == want.transforms


def test_logits_past_float16_range_are_clamped(tmp_path):
    record = _record()
    record.raw.views[0].logits[0, 0, :3] = torch.tensor([float('inf'), -1e6, 7e4])
    path = str(tmp_path / 'x.npz')
    write_oof_file(path, record)
    logits = read_oof_file(path).raw.views[0].logits
    assert torch.isfinite(logits).all()
    assert logits[0, 0, :3].tolist() == [LOGIT_LIMIT, -LOGIT_LIMIT, LOGIT_LIMIT]


def test_write_is_atomic_and_replaces(tmp_path):
    path = oof_path(str(tmp_path), KEY)
    write_oof_file(path, _record(0))
    write_oof_file(path, _record(1, checkpoint='other.pth'))
    assert os.listdir(osp.dirname(path)) == ['image1661130828152_R.npz']
    back = read_oof_file(path)
    assert back.checkpoint == 'other.pth'
    assert torch.equal(back.raw.views[0].logits, _record(1).raw.views[0].logits.half())


def test_read_errors_name_the_file(tmp_path):
    text = tmp_path / 'text.npz'
    text.write_text('not a zip')
    with pytest.raises(OofFileError, match=re.escape(str(text))):
        read_oof_header(str(text))
    no_header = tmp_path / 'no_header.npz'
    np.savez(str(no_header), view0=np.zeros((1, 2, 2), np.float16))
    with pytest.raises(OofFileError, match=re.escape(str(no_header))):
        read_oof_file(str(no_header))
    future = str(tmp_path / 'future.npz')
    write_oof_file(future, _record())
    with np.load(future) as data:
        arrays = dict(data)
    arrays['header'] = np.array(str(arrays['header']).replace('"format": 1', '"format": 9'))
    np.savez(future, **arrays)
    with pytest.raises(OofFileError, match='format 9'):
        read_oof_header(future)
    missing_view = str(tmp_path / 'missing_view.npz')
    write_oof_file(missing_view, _record())
    with np.load(missing_view) as data:
        arrays = {k: data[k] for k in ('header', 'view0')}
    np.savez(missing_view, **arrays)
    with pytest.raises(OofFileError, match='view1 is missing'):
        read_oof_file(missing_view)


def test_stored_matches(tmp_path):
    path = oof_path(str(tmp_path), KEY)
    assert stored_matches(path, 'best.pth', True) is None  # no file yet
    write_oof_file(path, _record(checkpoint='best.pth', tta=True))
    header = stored_matches(path, 'best.pth', True)
    assert header is not None and header['key'] == KEY
    assert stored_matches(path, 'other.pth', True) is None
    assert stored_matches(path, 'best.pth', False) is None
    with open(path, 'wb') as f:
        f.write(b'truncated')
    assert stored_matches(path, 'best.pth', True) is None


def test_oof_keys(tmp_path):
    keys = [KEY, 'ID001/image_2_L', 'ID120/a_b_c']
    for key in keys:
        write_oof_file(oof_path(str(tmp_path), key), _record())
    (tmp_path / 'ID001' / 'notes.txt').write_text('not a prediction')
    assert sorted(oof_keys(str(tmp_path))) == sorted(keys)
    assert list(oof_keys(str(tmp_path / 'absent'))) == []


def test_float16_masks_differ_only_next_to_the_threshold(tmp_path):
    """The precision of the format: masks re-made from the stored (float16) record against
    those of the float32 record, for thresholds 0.1 .. 0.9."""
    record = _record(seed=3, classes=HAND_BONE_CLASSES, map_size=(16, 16), input_size=(64, 64),
                     size=(100, 100), std=3.0)
    path = str(tmp_path / 'x.npz')
    write_oof_file(path, record)
    stored = read_oof_file(path).raw.stack()
    exact = record.raw.stack()
    probs = exact.add_dense()  # float32 (C, H, W) probabilities, the full-plane path
    assert probs.shape == (29, 100, 100)
    stored_probs = stored.add_dense()
    # float16 rounds a logit under 16 by at most 2**-8; bilinear resampling mixes those errors
    # (a pixel between a logit of 8 and one of -5 inherits the larger one), and the sigmoid's
    # slope is at most 1/4: no probability moves by 1e-3
    assert float((stored_probs - probs).abs().max()) < 1e-3
    flipped, distance = {}, []
    for t in np.round(np.arange(0.1, 0.91, 0.1), 2):
        thresholds = torch.full((29, 1, 1), float(t))
        want = merge_masks([exact], [1.0], thresholds).clone()
        got = merge_masks([stored], [1.0], thresholds)
        assert torch.equal(want, probs > t)  # the box path is the dense one here
        differ = got != want
        flipped[t] = int(differ.sum())
        distance += (probs[differ] - t).abs().tolist()
    # every flipped pixel lies within float16 rounding of the threshold ...
    assert max(distance) <= 1e-3, flipped
    # ... and they are few: 9 thresholds x 290,000 pixels compared, a few dozen flip
    total = sum(flipped.values())
    assert 0 < total < 1e-4 * 9 * probs.numel(), flipped
