"""Cross-validation that decides: ``tools/kfold.py``'s out-of-fold files and CV summary,
``tools/find_best.py`` on two configurations, ``tools/predict.py --recipe``."""
import csv
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmseg_ext.apis.ensemble import CheckpointMember, ensemble_masks
from mmseg_ext.apis.oof import SplitLeakError, check_not_trained_on
from mmseg_ext.evaluation.oof_run import load_oof_run, oof_masks
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.checkpoint import checkpoint_split
from mmseg_ext.utils.fileio.file_scan import scan_files
from mmseg_ext.utils.formats.submission import check_submission
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # tiny_kfold, tiny_kfold_tta and tool processes

THRESHOLDS = (0.3, 0.35, 0.4, 0.45)


def _training_keys(phantom_root):
    return sorted(osp.splitext(p)[0].replace(os.sep, '/')
                  for p in scan_files(osp.join(phantom_root, 'train', 'DCM'), ('.png', '.dcm')))


def test_every_training_image_once_by_a_model_that_did_not_train_on_it(
        tiny_kfold, phantom_root):
    run = load_oof_run(str(tiny_kfold.work_dir))
    assert run.keys == _training_keys(phantom_root)
    assert sorted(set(run.fold_of.values())) == [0, 1]
    for fold, result in run.folds.items():
        split = checkpoint_split(result.checkpoint)
        mine = [key for key, k in run.fold_of.items() if k == fold]
        assert sorted(split['val']) == mine
        assert not set(mine) & set(split['train'])
        assert run.record(mine[0]).checkpoint == osp.basename(result.checkpoint)
    other = [key for key, k in run.fold_of.items() if k == 1]
    with pytest.raises(SplitLeakError, match=f'e.g. {other[0]}'):
        check_not_trained_on(run.folds[0].checkpoint, other, 'test')


def _near_threshold(member, path, thresholds):
    """(C, H, W) bool: the full-size probability is within 1e-3 of the class threshold."""
    probs = member.add_probs(path, weight=1.0)
    return (probs - thresholds.reshape(-1, 1, 1)).abs() < 1e-3


@pytest.mark.parametrize('which', ['plain', 'tta'])
def test_oof_masks_equal_the_checkpoints_predicted_masks(tiny_kfold, tiny_kfold_tta, which):
    """For several thresholds, masks re-made from the stored (float16) views equal
    the checkpoint's masks (tools/predict.py's ``ensemble_masks``) on its validation images,
    except pixels within 1e-3 of the threshold (counted)."""
    work = tiny_kfold.work_dir if which == 'plain' else tiny_kfold_tta.work_dir
    run = load_oof_run(str(work))
    assert run.tta == (which == 'tta')
    differing = compared = 0
    for fold, result in run.folds.items():
        member = CheckpointMember(result.config, result.checkpoint, device='cpu', tta=run.tta)
        for key in [k for k, f in run.fold_of.items() if f == fold]:
            record = run.record(key)
            path = osp.join(result.data_root, 'DCM', key + '.png')
            for t in THRESHOLDS:
                rule = MaskRule(t)
                expected = ensemble_masks([member], path, rule)
                got = oof_masks(record, rule)
                diff = expected != got
                if diff.any():
                    near = _near_threshold(member, path, rule.thresholds(29))
                    assert not (diff & ~near).any(), f'{key} @ {t}'
                differing += int(diff.sum())
                compared += int(expected.sum())
    assert compared > 0, 'the thresholds must give some foreground'
    assert differing <= compared * 1e-3


def _decode(rle, shape):
    flat = np.zeros(shape[0] * shape[1], bool)
    values = [int(v) for v in rle.split()]
    for start, length in zip(values[::2], values[1::2]):
        flat[start - 1:start - 1 + length] = True
    return flat.reshape(shape)


def _labels(json_path, shape):
    planes = np.zeros((len(HAND_BONE_CLASSES), ) + shape, bool)
    for annotation in json.load(open(json_path))['annotations']:
        plane = np.zeros(shape, np.uint8)
        points = np.rint(np.asarray(annotation['points'], float)).astype(np.int32)
        cv2.fillPoly(plane, [points], 1)
        planes[HAND_BONE_CLASSES.index(annotation['label'])] |= plane.astype(bool)
    return planes


def test_cv_summary_equals_dice_computed_from_oof_csv(tiny_kfold, phantom_root):
    """cv_summary.json's mDice and per-class Dice: Dice of each image and class from
    oof.csv and the polygons (empty vs empty = 1), averaged over images, then classes."""
    work = tiny_kfold.work_dir
    summary = json.load(open(work / 'cv_summary.json'))
    train = osp.join(phantom_root, 'train')
    paths = {osp.basename(p): p for p in scan_files(osp.join(train, 'DCM'), ('.png', ))}
    rows = list(csv.DictReader(open(work / 'oof.csv')))
    assert len(rows) == 29 * len(paths)
    per_image = {}
    for row in rows:
        name = row['image_name']
        if name not in per_image:
            shape = cv2.imread(osp.join(train, 'DCM', paths[name]), 0).shape
            per_image[name] = (shape, _labels(osp.join(train, 'outputs_json',
                                                       osp.splitext(paths[name])[0] + '.json'),
                                              shape), [])
        shape, labels, dice = per_image[name]
        c = HAND_BONE_CLASSES.index(row['class'])
        pred, truth = _decode(row['rle'], shape), labels[c]
        total = pred.sum() + truth.sum()
        dice.append(1.0 if total == 0 else 2 * (pred & truth).sum() / total)
    table = np.array([entry[2] for entry in per_image.values()])  # (N, C)
    assert summary['num_images'] == len(paths)
    assert summary['mDice'] == pytest.approx(table.mean(axis=0).mean(), abs=1e-12)
    assert summary['mDice'] > 0, 'threshold 0.35 gives the tiny models some true pixels'
    for c, name in enumerate(HAND_BONE_CLASSES):
        assert summary['classes'][name]['dice'] == pytest.approx(table[:, c].mean(), abs=1e-12)
    assert set(summary['fold_mDice']) == {'0', '1'}
    assert 'CV (out-of-fold, 10 images): mDice' in tiny_kfold.resumed_output
    header = open(work / 'cv_summary.csv').readline().strip()
    assert header == 'class,dice,hd95,nsd'


def test_rerun_remakes_only_missing_oof_files(tiny_kfold):
    """A killed OOF pass or a fold trained elsewhere: the next kfold run makes only the
    missing files and the CV summary is unchanged."""
    work = tiny_kfold.work_dir
    run = load_oof_run(str(work))
    removed = run.path(run.keys[0])
    kept = run.path(run.keys[-1])
    before = (os.stat(kept).st_mtime_ns, open(work / 'cv_summary.json').read())
    os.remove(removed)
    out = run_tool(*tiny_kfold.command, timeout=600)
    assert osp.isfile(removed)
    assert 'already made)' in out.stdout
    assert os.stat(kept).st_mtime_ns == before[0]
    assert open(work / 'cv_summary.json').read() == before[1]


def test_find_best_two_configurations_then_predict_with_the_recipe(tiny_kfold, tiny_kfold_tta,
                                                                   phantom_root, tmp_path):
    recipe_path = tmp_path / 'recipe.json'
    out = run_tool('tools/find_best.py', str(tiny_kfold.work_dir), str(tiny_kfold_tta.work_dir),
                   '--out', str(recipe_path), '--weight-step', '0.5', '--thresholds', '0.3',
                   '0.4', '0.5').stdout
    assert 'ensemble: tuned weights and thresholds' in out and 'nested' in out
    assert 'python tools/predict.py --recipe' in out
    recipe = json.load(open(recipe_path))
    cv = recipe['cv']
    assert cv['num_images'] == 10
    chosen = [p for p in cv['procedures'] if p['name'] == cv['chosen']][0]
    assert chosen['nested_mDice'] == max(p['nested_mDice'] for p in cv['procedures'])
    assert all(p['in_sample_mDice'] >= p['nested_mDice'] - 1e-12 for p in cv['procedures']
               if 'tuned' in p['name'])
    assert set(recipe['thresholds'].values()) <= {0.3, 0.35, 0.4, 0.5}
    assert len(recipe['members']) in (2, 4)
    for member in recipe['members']:
        assert not osp.isabs(member['checkpoint'])
        total = sum(m['weights']['Radius'] for m in recipe['members'])
        assert total == pytest.approx(1.0)
    csv_path = tmp_path / 'sub.csv'
    run_tool('tools/predict.py', '--recipe', str(recipe_path), '--image-root',
             osp.join(phantom_root, 'test', 'DCM'), '--submission', str(csv_path),
             '--device', 'cpu')
    assert check_submission(str(csv_path), osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


def test_find_best_bad_inputs_stop_before_work(tiny_kfold, tmp_path):
    no_oof = tmp_path / 'copy'
    (no_oof / 'fold0').mkdir(parents=True)
    (no_oof / 'fold1').mkdir()
    for k in (0, 1):
        src = tiny_kfold.work_dir / f'fold{k}' / 'fold_result.json'
        (no_oof / f'fold{k}' / 'fold_result.json').write_text(src.read_text())
    proc = run_tool('tools/find_best.py', str(no_oof), '--out', str(tmp_path / 'r.json'),
                    check=False)
    assert proc.returncode != 0 and 'no out-of-fold predictions yet' in proc.stderr
    assert 'tools/kfold.py' in proc.stderr and not (tmp_path / 'r.json').exists()
    recipe = tmp_path / 'gone.json'
    recipe.write_text(json.dumps(dict(format=1, classes=list(HAND_BONE_CLASSES), members=[
        dict(config='nowhere.py', checkpoint='nowhere.pth', weights={})], thresholds={})))
    proc = run_tool('tools/predict.py', '--recipe', str(recipe), '--image-root', str(tmp_path),
                    '--submission', str(tmp_path / 's.csv'), check=False)
    assert proc.returncode != 0 and 'nowhere.py is missing' in proc.stderr


def test_split_is_recorded_in_the_work_dir_and_checkpoints(tiny_kfold, tiny_kfold_tta):
    """Both runs trained on one split: the second took it with --split-file."""
    first = json.load(open(tiny_kfold.work_dir / 'splits.json'))
    second = json.load(open(tiny_kfold_tta.work_dir / 'splits.json'))
    assert first == second
    run = load_oof_run(str(tiny_kfold_tta.work_dir))
    for fold, result in run.folds.items():
        assert sorted(checkpoint_split(result.checkpoint)['val']) == sorted(first[fold]['val'])
    assert torch.is_tensor(run.record(run.keys[0]).raw.views[0].logits)


def test_tools_test_stops_when_scoring_images_the_checkpoint_trained_on(tiny_kfold,
                                                                        phantom_root):
    """Fold 0's checkpoint scored on fold 1's validation images (its training images)."""
    import re
    result = load_oof_run(str(tiny_kfold.work_dir)).folds[0]
    trained = set(checkpoint_split(result.checkpoint)['train'])
    dataset = 'test_dataloader.dataset.'
    proc = run_tool('tools/test.py', result.config, result.checkpoint, '--cfg-options',
                    f'{dataset}data_root={osp.join(phantom_root, "train")}', f'{dataset}fold=1',
                    f'{dataset}split=val', f'{dataset}test_mode=False', check=False)
    assert proc.returncode != 0
    named = re.search(r'trained on \d+ of the \d+ scored test images, e.g. (\S+) ', proc.stderr)
    assert named and named.group(1) in trained, proc.stderr[-2000:]
