"""One probability path: add_probs is the only source of probabilities, and the
mask rule (threshold, cleanup, CRF) runs once per image in every path."""
import glob
import os.path as osp
import runpy
import sys

import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmseg.models.utils import resize
from mmseg.registry import MODELS

import mmseg_ext.utils.postprocessing.dense_crf as dense_crf
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms
from tests.conftest import REPO_ROOT
from tests.helpers import tiny_config

CLEANUP = dict(keep_largest=True, min_area=4)


@pytest.fixture
def rule_calls(monkeypatch):
    """Shapes of the masks each application of a mask rule finished (every path,
    threshold or CRF, ends in MaskRule.finish)."""
    calls = []
    finish = MaskRule.finish

    def counted(self, masks):
        calls.append(tuple(masks.shape))
        return finish(self, masks)
    monkeypatch.setattr(MaskRule, 'finish', counted)
    return calls


@pytest.fixture
def crf_calls(monkeypatch):
    """A stand-in dense CRF (threshold at 0.5) that counts its calls."""
    calls = []

    def stand_in(image, probs):
        calls.append(probs.shape)
        return probs > 0.5
    monkeypatch.setattr(dense_crf, 'dense_crf_masks', stand_in)
    return calls


def _model_and_images(phantom_root, tmp_path, tiny_run, **test_cfg):
    from mmengine.runner import load_checkpoint
    cfg = tiny_config(phantom_root, str(tmp_path), test_scale=(64, 64))
    cfg.model.test_cfg.update(test_cfg)
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, tiny_run[1], map_location='cpu')
    images = sorted(glob.glob(osp.join(phantom_root, 'test', 'DCM', '*', '*.png')))
    return cfg, model, images


def _sample(cfg, path):
    return pseudo_collate([Compose(cfg.test_pipeline)(dict(img_path=path))])


@pytest.mark.slow
def test_add_probs_is_the_full_size_sigmoid_added_with_weights(phantom_root, tmp_path,
                                                               tiny_run):
    cfg, model, images = _model_and_images(phantom_root, tmp_path, tiny_run)
    data = _sample(cfg, images[0])
    with torch.no_grad():
        pre = model.data_preprocessor(data, False)
        meta = pre['data_samples'][0].metainfo
        logits = undo_test_transforms(model.inference(pre['inputs'], [meta]), meta)
    expected = resize(logits, size=meta['ori_shape'], mode='bilinear',
                      align_corners=False)[0].sigmoid()
    assert expected.shape == (29, 128, 128) and logits.shape[-1] == 64  # upsampled x2
    probs = model.add_probs(data)
    assert torch.allclose(probs, expected, atol=1e-6)
    weights = torch.linspace(0.5, 2, 29).view(-1, 1, 1)
    total = model.add_probs(data, probs.clone(), weights)  # added into a running sum
    assert torch.allclose(total, expected * (1 + weights), atol=1e-5)


@pytest.mark.slow
def test_test_step_masks_are_the_rule_of_the_probabilities_applied_once(
        phantom_root, tmp_path, tiny_run, rule_calls):
    cfg, model, images = _model_and_images(phantom_root, tmp_path, tiny_run, cleanup=CLEANUP)
    batch = pseudo_collate([Compose(cfg.test_pipeline)(dict(img_path=p)) for p in images])
    with torch.no_grad():
        outputs = model.test_step(batch)
    assert rule_calls == [(29, 128, 128)] * len(images)
    for path, out in zip(images, outputs):
        expected = MaskRule(cleanup=CLEANUP)(model.add_probs(_sample(cfg, path)))
        assert out.pred_sem_seg.data.any()
        assert torch.equal(out.pred_sem_seg.data, expected)


@pytest.mark.slow
@pytest.mark.parametrize('merge', ['prob', 'logit', 'vote'])
def test_tta_merges_views_then_applies_the_rule_once(phantom_root, tmp_path, tiny_run,
                                                     rule_calls, merge):
    cfg, model, images = _model_and_images(phantom_root, tmp_path, tiny_run, cleanup=CLEANUP)
    tta = MODELS.build(dict(type='MultiLabelTTAModel', module=cfg.model, merge=merge))
    tta.module = model
    views = [Compose(cfg.tta_pipeline)(dict(img_path=p)) for p in images]
    batch = pseudo_collate(views)
    num_views = len(batch['inputs'])
    assert num_views == 6  # 3 scales x flip
    with torch.no_grad():
        outputs = tta.test_step(batch)
    assert rule_calls == [(29, 128, 128)] * len(images)  # once per image, not V + 1 times
    for i, out in enumerate(outputs):
        per_view = []
        for v in range(num_views):
            view = pseudo_collate([{key: value[v] for key, value in views[i].items()}])
            with torch.no_grad():
                pre = model.data_preprocessor(view, False)
                meta = pre['data_samples'][0].metainfo
                logits = undo_test_transforms(model.inference(pre['inputs'], [meta]), meta)
            per_view.append(resize(logits, size=meta['ori_shape'], mode='bilinear',
                                   align_corners=False)[0])
        stacked = torch.stack(per_view)
        rule = MaskRule(cleanup=CLEANUP)
        if merge == 'prob':
            expected = rule(stacked.sigmoid().mean(0))
        elif merge == 'logit':
            expected = rule(stacked.mean(0).sigmoid())
        else:
            expected = rule.finish((stacked.sigmoid() > 0.5).sum(0) * 2 > num_views)
        assert out.pred_sem_seg.data.any()
        differ = (out.pred_sem_seg.data != expected).float().mean()
        assert differ < 1e-4, f'{merge}: {differ:.2e} of the pixels differ'


@pytest.mark.slow
def test_tta_with_crf_runs_one_crf_per_image(phantom_root, tmp_path, tiny_run, crf_calls,
                                             rule_calls):
    cfg, model, images = _model_and_images(phantom_root, tmp_path, tiny_run, crf=True)
    tta = MODELS.build(dict(type='MultiLabelTTAModel', module=cfg.model))
    tta.module = model
    batch = pseudo_collate([Compose(cfg.tta_pipeline)(dict(img_path=p)) for p in images])
    with torch.no_grad():
        tta.test_step(batch)
    assert len(crf_calls) == len(rule_calls) == len(images)


@pytest.mark.slow
def test_ensemble_tool_applies_the_rule_once_per_image(phantom_root, tmp_path, tiny_run,
                                                       rule_calls, crf_calls, monkeypatch):
    config, ckpt = tiny_run
    images = sorted(glob.glob(osp.join(phantom_root, 'test', 'DCM', '*', '*.png')))
    out = str(tmp_path / 'ens.csv')
    monkeypatch.setattr(sys, 'argv', [
        'predict.py', '--model', f'{config}:{ckpt}', '--model', f'{config}:{ckpt}:2',
        '--image-root', osp.join(phantom_root, 'test', 'DCM'), '--submission', out,
        '--device', 'cpu', '--crf'])
    runpy.run_path(osp.join(REPO_ROOT, 'tools', 'predict.py'), run_name='__main__')
    assert osp.getsize(out) > 0
    assert len(crf_calls) == len(rule_calls) == len(images)


def test_bad_merge_name():
    with pytest.raises(ValueError, match='merge'):
        MODELS.build(dict(type='MultiLabelTTAModel', module=dict(type='x'), merge='median'))
