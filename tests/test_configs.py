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


REHEARSAL = '''
import sys
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS
import mmseg_ext  # noqa: F401
config, data_root = sys.argv[1:3]
init_default_scope('mmseg')
cfg = Config.fromfile(config)
torch.manual_seed(0)
model = MODELS.build(cfg.model)
if 'w18' in config:  # one training step through the config's own train pipeline
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=data_root, fold=None))
    batch = pseudo_collate([dataset[0]])
    assert tuple(batch['inputs'][0].shape) == (3, 2048, 2048), batch['inputs'][0].shape
    model.train()
    losses = model.train_step(batch, build_optim_wrapper(model, cfg.optim_wrapper))
    assert all(torch.isfinite(v) for v in losses.values()), losses
else:  # a forward pass of the test pipeline (a W48 training step needs ~28 GB)
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, data_root=data_root,
                                  test_mode=True))
    model.eval()
    with torch.no_grad():
        masks = model.test_step(pseudo_collate([dataset[0]]))[0].pred_sem_seg.data
    assert tuple(masks.shape) == (29, 2048, 2048), masks.shape
print('REHEARSED', config)
'''


@pytest.mark.slow
@pytest.mark.parametrize('name', ['hrnet_w18_hand_2048.py', 'hrnet_w48_hand_2048.py'])
def test_2048_configs_rehearse_on_the_cpu(name, tmp_path_factory):
    """A 2048² phantom through the W18 2048 config's train pipeline and one training step
    (batch 1: ~60 s and ~14 GB on a 2-core CPU), and a W48 2048 forward pass (~25 s,
    ~4 GB), each in its own process."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    from tests.helpers import run_tool
    root = tmp_path_factory.getbasetemp() / 'phantoms_2048'
    if not root.exists():
        make_phantoms(str(root), num_ids=1, size=2048, seed=0, num_test_ids=0)
    script = tmp_path_factory.mktemp('rehearsal') / 'rehearse.py'
    script.write_text(REHEARSAL)
    proc = run_tool(str(script), osp.join(REPO_ROOT, 'configs', 'hrnet', name),
                    str(root / 'train'), timeout=900)
    assert 'REHEARSED' in proc.stdout
