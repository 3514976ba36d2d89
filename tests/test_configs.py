"""Every shipped config parses, registers its components and builds its model."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmseg.registry import MODELS

from tests.conftest import REPO_ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def test_expected_configs_exist():
    names = {osp.relpath(p, osp.join(REPO_ROOT, 'configs')) for p in CONFIGS}
    assert {'hrnet/hrnet_w18_hand.py', 'hrnet/hrnet_w48_hand.py', 'hrnet/hrnet_w18_ocr_hand.py',
            'smp/unetplusplus_r34_hand.py', 'smp/deeplabv3plus_r50_hand.py',
            'demo/hrnet_w18_phantom_cpu.py', 'hrnet/hrnet_w18_hand_2048.py',
            'hrnet/hrnet_w48_hand_2048.py'} <= names


def _resize_scales(pipeline):
    """Every ``Resize`` scale of a pipeline, inside ``TestTimeAug`` too."""
    scales = []
    for step in pipeline:
        if step['type'] == 'Resize':
            scales.append(tuple(step['scale']))
        for group in step.get('transforms', []):
            scales += _resize_scales(group if isinstance(group, list) else [group])
    return scales


@pytest.mark.parametrize('name', ['hrnet_w18_hand_2048.py', 'hrnet_w48_hand_2048.py'])
def test_2048_configs_run_every_pipeline_at_2048(name):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'hrnet', name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert _resize_scales(cfg[loader].dataset.pipeline) == [(2048, 2048)], loader
    assert _resize_scales(cfg.tta_pipeline) == [(1536, 1536), (2048, 2048), (2560, 2560)]
    base = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'hrnet', name.replace('_2048', '')))
    assert cfg.model == base.model  # the same network as its 1024 config
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ours, theirs = cfg[loader].dataset.pipeline, base[loader].dataset.pipeline
        assert [s['type'] for s in ours] == [s['type'] for s in theirs]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_builds_offline(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mmseg_ext']
    assert cfg.default_scope == 'mmseg'
    assert not cfg.model.get('pretrained') and not cfg.model.get('encoder_weights')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize('registry,cfg,word', [
    ('TRANSFORMS', dict(type='LoadXRayImage', num_chanels=3), 'num_chanels'),
    ('MODELS', dict(type='MultiLabelBCELoss', pos_wieght=[1.0]), 'pos_wieght'),
    ('METRICS', dict(type='DiceMetric', mdoe='image'), 'mdoe'),
    ('HOOKS', dict(type='SubmissionHook', out_fiel='x.csv'), 'out_fiel'),
    ('DATASETS', dict(type='HandBoneDataset', data_root='x', flod=0), 'flod'),
])
def test_misspelt_argument_names_component_and_argument(registry, cfg, word):
    import mmseg.registry as registries
    with pytest.raises(TypeError, match=rf"{cfg['type']}.*{word}"):
        getattr(registries, registry).build(cfg)


FULL_SIZE = [p for p in CONFIGS if '/demo/' not in p]


@pytest.mark.parametrize('path', FULL_SIZE, ids=lambda p: osp.basename(p))
def test_full_size_configs_are_set_for_a_gpu(path, monkeypatch):
    import os
    cpus = len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(16)))
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '8')  # torchrun, 8 GPUs: 16 / 8 - 1 workers each
    cfg = Config.fromfile(path)
    assert cfg.expected_device == 'cuda'
    assert cfg.train_dataloader.num_workers == 1 and cfg.val_dataloader.num_workers == 1
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].pin_memory and cfg[loader].persistent_workers
    assert cfg.env_cfg.cudnn_benchmark and cfg.sync_bn == 'torch'
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=2)
    assert cfg.auto_scale_lr.base_batch_size == cfg.train_dataloader.batch_size
    monkeypatch.delenv('LOCAL_WORLD_SIZE')
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(64)))
    assert Config.fromfile(path).train_dataloader.num_workers == 4  # the cap
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: set(range(cpus)))
    assert Config.fromfile(path).train_dataloader.num_workers == max(1, min(4, cpus - 1))


def test_demo_configs_keep_cpu_settings():
    for path in (p for p in CONFIGS if '/demo/' in p):
        cfg = Config.fromfile(path)
        assert cfg.expected_device == 'cpu' and cfg.sync_bn is None
        assert not cfg.env_cfg.cudnn_benchmark
        assert cfg.train_dataloader.num_workers == 1 and not cfg.train_dataloader.pin_memory
