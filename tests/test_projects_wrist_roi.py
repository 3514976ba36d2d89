"""The wrist ROI project: crop transform, stage-2 training, two-stage submission."""
import os.path as osp
import re
import runpy
import sys

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

import projects.wrist_roi.wrist_roi  # noqa: F401  (registers CropCarpalROI)
from mmseg_ext.utils.class_names import CARPAL_CLASSES, HAND_BONE_CLASSES
from mmseg_ext.utils.formats.submission import check_submission
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from projects.wrist_roi.wrist_roi import carpal_box
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool, tiny_config

STAGE2 = osp.join(REPO_ROOT, 'projects/wrist_roi/configs/hrnet_w18_carpal_roi_phantom_cpu.py')


def _sample(phantom_root):
    import glob
    path = sorted(glob.glob(osp.join(phantom_root, 'train', 'DCM', '*', '*.png')))[0]
    return dict(img_path=path, seg_fields=[],
                seg_map_path=path.replace('DCM', 'outputs_json')[:-4] + '.json')


def test_crop_keeps_carpals_only_and_whole(phantom_root):
    full = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations')])(
        _sample(phantom_root))
    crop = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations'),
                    dict(type='CropCarpalROI', margin=0.1)])(_sample(phantom_root))
    y0, y1, x0, x1 = crop['roi_box']
    assert crop['img'].shape[:2] == crop['ori_shape'] == (y1 - y0, x1 - x0)
    assert crop['gt_seg_map'].max() < 256  # 8 carpal bits only
    carpal_bits = (full['gt_seg_map'] >> 19) & 0xFF
    assert (crop['gt_seg_map'] == carpal_bits[y0:y1, x0:x1]).all()
    assert carpal_bits.sum() == crop['gt_seg_map'].sum()  # no carpal pixel cut off
    masks = np.stack([(carpal_bits >> i) & 1 for i in range(8)]).astype(bool)
    assert carpal_box(masks, carpal_bits.shape, 0.1) == (y0, y1, x0, x1)


def _small_stage2(phantom_root, work_dir):
    """The stage-2 config with the tiny HRNet of the tests."""
    from mmengine.config import Config
    cfg = Config.fromfile(STAGE2)
    small = tiny_config(phantom_root, work_dir, max_iters=2)
    cfg.model.backbone.extra = small.model.backbone.extra
    cfg.model.decode_head.in_channels = small.model.decode_head.in_channels
    cfg.model.decode_head.channels = small.model.decode_head.channels
    return cfg


def _low_stage1(tiny_run, tmp_path):
    """``tiny_run`` with a low threshold, so that carpals are found: (config, checkpoint)."""
    from mmengine.config import Config
    config1, ckpt1 = tiny_run
    low = Config.fromfile(config1)
    low.model.test_cfg['threshold'] = 0.05
    config1 = str(tmp_path / 'stage1_low.py')
    low.dump(config1)
    return config1, ckpt1


def _two_stage(phantom_root, stage1, stage2, out_csv, monkeypatch, capsys) -> int:
    """Run the two-stage tool in this process; the number of images it refined."""
    monkeypatch.setattr(sys, 'argv', [
        'two_stage_submission.py', '--stage1', ':'.join(stage1), '--stage2', ':'.join(stage2),
        '--image-root', osp.join(phantom_root, 'test', 'DCM'), '--submission', out_csv,
        '--device', 'cpu'])
    runpy.run_path(osp.join(REPO_ROOT, 'projects/wrist_roi/tools/two_stage_submission.py'),
                   run_name='__main__')
    return int(re.search(r'two-stage: (\d+)/2 images refined', capsys.readouterr().out)[1])


@pytest.mark.slow
def test_stage2_trains_and_two_stage_submission(phantom_root, tiny_run, tmp_path, monkeypatch,
                                                capsys):
    cfg = _small_stage2(phantom_root, str(tmp_path / 'stage2'))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].num_workers, cfg[name].persistent_workers = 0, False
        cfg[name].dataset.data_root = osp.join(phantom_root, 'train')
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = 2
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path / 'stage2')
    config2 = str(tmp_path / 'stage2.py')
    cfg.dump(config2)
    proc = run_tool('tools/train.py', config2, timeout=600)
    assert 'Trapezium' in proc.stdout + proc.stderr  # the 8-class Dice table
    out_csv = str(tmp_path / 'two.csv')
    # in this process, to count the mask rule's applications: one per image (stage 1)
    # plus one per refined image (stage 2, on its crop)
    calls = []
    finish = MaskRule.finish
    monkeypatch.setattr(MaskRule, 'finish',
                        lambda rule, masks: calls.append(masks.shape) or finish(rule, masks))
    refined = _two_stage(phantom_root, _low_stage1(tiny_run, tmp_path),
                         (config2, f'{tmp_path}/stage2/iter_2.pth'), out_csv, monkeypatch, capsys)
    assert refined >= 1
    assert sorted(shape[0] for shape in calls) == [8] * refined + [29] * 2
    assert check_submission(out_csv, osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


@pytest.mark.slow
def test_two_stage_submission_with_a_crf_stage2(phantom_root, tiny_run, tmp_path, monkeypatch,
                                                capsys):
    """A stage 2 with ``test_cfg.crf``: its dense CRF (a stand-in for pydensecrf2) gets the
    crop's probabilities and the crop's pixels, once per refined image."""
    from mmseg.registry import MODELS

    import mmseg_ext.utils.postprocessing.dense_crf as dense_crf
    cfg = _small_stage2(phantom_root, str(tmp_path / 'stage2'))
    cfg.model.test_cfg['crf'] = True
    config2, ckpt2 = str(tmp_path / 'stage2_crf.py'), str(tmp_path / 'stage2_crf.pth')
    cfg.dump(config2)
    torch.save({'meta': dict(dataset_meta=dict(classes=CARPAL_CLASSES)),  # initial weights
                'state_dict': MODELS.build(cfg.model).state_dict()}, ckpt2)
    calls = []

    def stand_in(image, probs):
        calls.append((image.shape, image.dtype, probs.shape))
        return probs > 0.5
    monkeypatch.setattr(dense_crf, 'dense_crf_masks', stand_in)
    out_csv = str(tmp_path / 'two_crf.csv')
    refined = _two_stage(phantom_root, _low_stage1(tiny_run, tmp_path), (config2, ckpt2),
                         out_csv, monkeypatch, capsys)
    assert refined >= 1 and len(calls) == refined
    for image_shape, dtype, probs_shape in calls:
        assert probs_shape[0] == 8 and image_shape == probs_shape[1:] and dtype == np.uint8
        assert image_shape[0] < 128 or image_shape[1] < 128  # the crop, not the image
    assert check_submission(out_csv, osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


def test_refine_replaces_only_carpals_inside_box():
    from projects.wrist_roi.tools.two_stage_submission import refine
    masks = torch.ones(29, 10, 10, dtype=torch.bool)
    out = refine(masks, torch.zeros(8, 4, 4), (2, 6, 3, 7), MaskRule())
    carpal = [HAND_BONE_CLASSES.index(c) for c in ('Trapezium', 'Pisiform')]
    assert out[:19].all() and out[27:].all()
    assert not out[carpal[0]:carpal[1] + 1].any()
    # stage 2's per-class thresholds apply inside the box
    crop = torch.full((8, 4, 4), 0.5)
    rule = MaskRule(threshold=[0.4] * 4 + [0.6] * 4)
    out = refine(masks, crop, (2, 6, 3, 7), rule)
    assert out[carpal[0]:carpal[0] + 4, 2:6, 3:7].all()
    assert not out[carpal[0] + 4:carpal[1] + 1].any()
