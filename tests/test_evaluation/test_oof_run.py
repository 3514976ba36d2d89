"""A k-fold work dir's out-of-fold predictions (``load_oof_run``) on a fake work dir made
without training (``fold_result.json`` and out-of-fold files written directly): every key
found once with its fold, and the errors that name what is wrong and the command that fixes
it; ``check_same_folds`` refuses runs trained on different splits."""
import os
import os.path as osp
import re
import shutil

import pytest
import torch

from mmseg_ext.evaluation.find_best import check_same_folds
from mmseg_ext.evaluation.oof_run import OofRunError, load_oof_run, oof_masks
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.fold_result import FoldResult, write_fold_result
from mmseg_ext.utils.formats.oof_file import OofRecord, oof_path, write_oof_file
from mmseg_ext.utils.postprocessing.box_merge import merge_masks
from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews

# fold -> the image keys it holds out
SPLIT = {0: ['ID002/image_b_R', 'ID001/image1661130828152_L'],
         1: ['ID001/image1661130828152_R', 'ID010/c']}


def _write_run(work_dir, split=SPLIT, tta=False, classes=HAND_BONE_CLASSES):
    """A finished k-fold work dir: per fold its fold_result.json and out-of-fold files."""
    config = osp.join(work_dir, 'config.py')
    for fold, keys in split.items():
        folder = osp.join(work_dir, f'fold{fold}')
        write_fold_result(folder, FoldResult(fold, len(split), '/data/train', config,
                                             osp.join(folder, 'best.pth'), dict(mDice=0.9)))
        others = [k for f, ks in split.items() if f != fold for k in ks]
        torch.save({'meta': {'split': dict(train=others, val=list(keys), fold=fold)}},
                   osp.join(folder, 'best.pth'))  # what RecordSplitHook records
        for i, key in enumerate(keys):
            _write_oof(work_dir, fold, key, seed=fold * 10 + i, tta=tta, classes=classes)
    with open(config, 'w') as f:
        f.write('model = dict(test_cfg=dict(threshold=0.5))\n')
    return work_dir


def _write_oof(work_dir, fold, key, seed=0, tta=False, classes=HAND_BONE_CLASSES):
    g = torch.Generator().manual_seed(seed)
    raw = RawViews((32, 32), views=[RawView(torch.randn((len(classes), 8, 8), generator=g) * 3,
                                            (32, 32))])
    record = OofRecord(key, key.split('/')[1] + '.png', fold, 'best.pth', tta, list(classes), raw)
    write_oof_file(oof_path(osp.join(work_dir, f'fold{fold}', 'oof'), key), record)


def test_load_finds_every_key_once_with_its_fold(tmp_path):
    run = load_oof_run(_write_run(str(tmp_path)))
    expected = {key: fold for fold, keys in SPLIT.items() for key in keys}
    assert run.fold_of == expected
    assert run.keys == sorted(expected)
    assert sorted(run.folds) == [0, 1] and run.folds[1].fold == 1
    assert run.classes == list(HAND_BONE_CLASSES) and run.tta is False
    assert run.image_names['ID010/c'] == 'c.png'
    key = 'ID001/image1661130828152_R'
    assert run.path(key) == osp.join(str(tmp_path), 'fold1', 'oof', 'ID001',
                                     'image1661130828152_R.npz')
    record = run.record(key)
    assert (record.key, record.fold) == (key, 1)
    rule = run.rule(1)
    assert rule.thresholds(29).flatten().tolist() == [0.5] * 29
    masks = oof_masks(record, rule)
    thresholds = torch.full((29, 1, 1), 0.5)
    assert torch.equal(masks, merge_masks([record.raw.stack()], [1.0], thresholds))
    assert masks.any()


def test_fold_missing_some_oof_files_names_the_first(tmp_path):
    """A killed prediction pass: the fold's recorded validation images without a file."""
    work_dir = _write_run(str(tmp_path))
    os.remove(oof_path(osp.join(work_dir, 'fold1', 'oof'), 'ID010/c'))
    with pytest.raises(OofRunError, match='fold 1 lacks the out-of-fold files of 1 of its 2 '
                       r'validation images \(e.g. ID010/c\); run tools/kfold.py'):
        load_oof_run(work_dir)


def test_fold_without_oof_files_names_kfold(tmp_path):
    work_dir = _write_run(str(tmp_path))
    shutil.rmtree(osp.join(work_dir, 'fold1', 'oof'))
    with pytest.raises(OofRunError, match='tools/kfold.py') as info:
        load_oof_run(work_dir)
    assert osp.join(work_dir, 'fold1', 'oof') in str(info.value)


def test_key_in_two_folds_is_named(tmp_path):
    work_dir = _write_run(str(tmp_path))
    _write_oof(work_dir, 1, 'ID002/image_b_R')
    with pytest.raises(OofRunError, match=re.escape('image ID002/image_b_R has out-of-fold '
                                                    'files in fold 0 and fold 1')):
        load_oof_run(work_dir)


def test_unfinished_fold_is_refused(tmp_path):
    work_dir = _write_run(str(tmp_path))
    os.remove(osp.join(work_dir, 'fold1', 'fold_result.json'))  # its oof/ files are there
    with pytest.raises(OofRunError, match=re.escape('fold(s) [1] of 2 have not finished')):
        load_oof_run(work_dir)
    with pytest.raises(OofRunError, match='no finished fold'):
        load_oof_run(str(tmp_path / 'empty'))


def test_files_of_other_tta_are_refused(tmp_path):
    work_dir = _write_run(str(tmp_path))
    _write_oof(work_dir, 1, 'ID010/c', tta=True)
    with pytest.raises(OofRunError, match='differ in classes or TTA'):
        load_oof_run(work_dir)


def test_check_same_folds(tmp_path):
    first = load_oof_run(_write_run(str(tmp_path / 'a')))
    same = load_oof_run(_write_run(str(tmp_path / 'b')))
    check_same_folds([first, same])  # same images in the same folds: accepted
    moved = {0: SPLIT[0][:1], 1: SPLIT[1] + SPLIT[0][1:]}
    other = load_oof_run(_write_run(str(tmp_path / 'c'), moved))
    with pytest.raises(OofRunError, match=re.escape(
            'image ID001/image1661130828152_L is in fold 0 of')) as info:
        check_same_folds([first, other])
    assert str(tmp_path / 'c') in str(info.value) and '--split-file' in str(info.value)
    fewer = load_oof_run(_write_run(str(tmp_path / 'd'), {0: SPLIT[0], 1: SPLIT[1][:1]}))
    with pytest.raises(OofRunError, match='image ID010/c is in fold 1 .* in fold no fold'):
        check_same_folds([first, fewer])
    classes = load_oof_run(_write_run(str(tmp_path / 'e'), classes=HAND_BONE_CLASSES[:28]))
    with pytest.raises(OofRunError, match='different classes'):
        check_same_folds([first, classes])
