"""mmseg_ext.evaluation.submission_eval: checks before work, Dice as DiceMetric's."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch

from mmseg_ext.evaluation import BoundaryMetric, DiceMetric
from mmseg_ext.evaluation.boundary import BOUNDARY_KEYS, boundary_metrics
from mmseg_ext.evaluation.submission_eval import (EvaluationError, evaluate_submission,
                                                  labelled_images, plan_evaluation)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.submission import SubmissionWriter
from mmseg_ext.utils.masks.bitmask import unpack_bits


def dataset_ground_truth(data_root: str) -> dict:
    """Image name -> (C, H, W) bool ground truth as the validation pipeline makes it."""
    from mmseg_ext.datasets import HandBoneDataset
    dataset = HandBoneDataset(data_root=data_root, pipeline=[
        dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations')])
    return {osp.basename(s['img_path']): unpack_bits(s['gt_seg_map'], len(HAND_BONE_CLASSES))
            for s in (dataset[i] for i in range(len(dataset)))}


def perturbed(gt: np.ndarray, index: int) -> np.ndarray:
    """A prediction: some bones shifted, dilated, eroded (small ones may vanish),
    one dropped."""
    pred = gt.copy()
    kernel = np.ones((3, 3), np.uint8)
    for c in range(pred.shape[0]):
        kind = (c + index) % 4
        plane = pred[c].astype(np.uint8)
        if kind == 0:
            plane = np.roll(plane, (1 + index % 3, -1), axis=(0, 1))
        elif kind == 1:
            plane = cv2.dilate(plane, kernel)
        elif kind == 2:
            plane = cv2.erode(plane, kernel)
        pred[c] = plane > 0
    pred[(3 * index) % pred.shape[0]] = False
    return pred


def write_submission(path: str, masks: dict, extra: tuple = ()) -> None:
    """A CSV of ``masks`` (name -> (C, H, W)), plus empty rows for ``extra`` names."""
    with SubmissionWriter(path, HAND_BONE_CLASSES) as writer:
        for name, pred in masks.items():
            writer.write_image(name, pred)
        for name in extra:
            writer.write_rows([(name, c, '') for c in HAND_BONE_CLASSES])


@pytest.fixture(scope='module')
def scored(phantom_root, tmp_path_factory):
    """(data root, CSV, predictions, ground truth): all train images but the last,
    and one unlabelled name."""
    data_root = osp.join(phantom_root, 'train')
    gt = dataset_ground_truth(data_root)
    names = sorted(gt)[:-1]
    preds = {name: perturbed(gt[name], i) for i, name in enumerate(names)}
    csv_path = str(tmp_path_factory.mktemp('submission') / 'sub.csv')
    write_submission(csv_path, preds, extra=('not_labelled.png', ))
    return data_root, csv_path, preds, gt


def test_plan_names_missing_and_unlabelled(scored):
    data_root, csv_path, preds, gt = scored
    plan = plan_evaluation(csv_path, data_root)
    assert plan.scored == list(preds)
    assert plan.unlabelled == ['not_labelled.png']
    assert plan.missing == [sorted(gt)[-1]]


def test_dice_equals_dice_metric_and_numpy(scored):
    data_root, csv_path, preds, gt = scored
    result = evaluate_submission(plan_evaluation(csv_path, data_root), progress=False)
    metric = DiceMetric()
    metric.dataset_meta = dict(classes=HAND_BONE_CLASSES)
    boundary = BoundaryMetric()
    boundary.dataset_meta = dict(classes=HAND_BONE_CLASSES)
    numpy_dice = []
    for name, pred in preds.items():
        bits = torch.zeros(pred.shape[1:], dtype=torch.int32)
        for c in range(len(HAND_BONE_CLASSES)):
            bits |= torch.from_numpy(gt[name][c]).int() << c
        sample = dict(pred_sem_seg=dict(data=torch.from_numpy(pred)),
                      gt_sem_seg=dict(data=bits[None]))
        metric.process({}, [sample])
        boundary.process({}, [sample])
        inter = (pred & gt[name]).sum(axis=(1, 2))
        total = pred.sum(axis=(1, 2)) + gt[name].sum(axis=(1, 2))
        numpy_dice.append(np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0))
    from_metric = metric.compute_metrics(metric.results)
    np.testing.assert_allclose(result.summary['dice'],
                               [from_metric[f'Dice.{c}'] for c in HAND_BONE_CLASSES],
                               rtol=0, atol=1e-12)
    assert result.summary['dice'].mean() == pytest.approx(from_metric['mDice'], abs=1e-12)
    assert result.summary['dice'].mean() == pytest.approx(np.mean(numpy_dice), abs=1e-12)
    assert result.summary['dice'].mean() < 1.0
    from_boundary = boundary.compute_metrics(boundary.results)
    assert np.nanmean(result.summary['hd95']) == pytest.approx(from_boundary['mHD95'])
    misses = sum(int((g.any(axis=(1, 2)) & ~preds[n].any(axis=(1, 2))).sum())
                 for n, g in gt.items() if n in preds)
    assert misses >= len(preds)  # perturbed() drops one bone per image
    assert from_boundary['misses'] == int(result.summary['misses'].sum()) == misses
    first = boundary_metrics(preds[result.names[0]], gt[result.names[0]])
    for i, key in enumerate(BOUNDARY_KEYS):
        np.testing.assert_array_equal(result.boundary[0, i], first[key])


def test_data_root_without_folders_is_named(scored, tmp_path):
    data_root, csv_path, _, _ = scored
    for missing in ('DCM', 'outputs_json'):
        root = tmp_path / missing
        shutil.copytree(data_root, root)
        shutil.rmtree(root / missing)
        with pytest.raises(EvaluationError, match=f'no {missing}/ folder'):
            labelled_images(str(root))


def _rewrite(src: str, dst: str, edit) -> str:
    with open(src) as f:
        lines = f.read().splitlines()
    with open(dst, 'w') as f:
        f.write('\n'.join(edit(lines)) + '\n')
    return dst


@pytest.mark.parametrize('edit,message', [
    (lambda ls: ['image,class,rle'] + ls[1:], 'header must be image_name,class,rle'),
    (lambda ls: ls[:2] + [ls[2].replace('finger-2', 'finger-two')] + ls[3:],
     'does not have the 29 classes in order'),
    (lambda ls: ls[:1] + ls[2:], 'does not have the 29 classes in order'),
    (lambda ls: ls[:1] + [ls[1].rsplit(',', 1)[0] + ',5 3 6 2'] + ls[2:],
     'bad RLE for .*/finger-1: RLE runs must be increasing'),
    (lambda ls: ls[:1] + [ls[1].rsplit(',', 1)[0] + ',1 99999999'] + ls[2:],
     'bad RLE for .*/finger-1: RLE run ends at pixel'),
    (lambda ls: ls + ls[1:30], 'appears in two places'),
])
def test_bad_csv_is_named_before_work(scored, tmp_path, edit, message):
    data_root, csv_path, _, _ = scored
    bad = _rewrite(csv_path, str(tmp_path / 'bad.csv'), edit)
    with pytest.raises(EvaluationError, match=message) as info:
        plan_evaluation(bad, data_root)
    assert 'bad.csv' in str(info.value)


def test_missing_csv_is_named(scored, tmp_path):
    with pytest.raises(EvaluationError, match='nope.csv: submission CSV not found'):
        plan_evaluation(str(tmp_path / 'nope.csv'), scored[0])
    assert not os.listdir(tmp_path)
