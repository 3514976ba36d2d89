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
            'demo/hrnet_w18_phantom_cpu.py'} <= names


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
