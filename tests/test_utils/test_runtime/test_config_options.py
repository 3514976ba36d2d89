"""Data roots and folds reach every dataloader, by flag or by --cfg-options; ignored
top-level overrides stop with a message."""
import os.path as osp

import pytest
from mmseg.registry import DATASETS

from mmseg_ext.utils.runtime.config_options import ConfigOptionError
from mmseg_ext.utils.runtime.launch import read_config
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool_cases

CONFIGS = ['configs/demo/hrnet_w18_phantom_cpu.py', 'configs/hrnet/hrnet_w18_hand.py',
           'configs/smp/deeplabv3plus_r50_hand.py']


def _built(cfg, loader):
    """The loader's dataset, built: its data infos (no pipeline run)."""
    dataset = DATASETS.build(cfg[loader].dataset)
    dataset.infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return dataset


@pytest.mark.parametrize('config', CONFIGS)
@pytest.mark.parametrize('by', ['flags', 'cfg-options'])
def test_data_root_and_fold_reach_the_built_datasets(config, by, phantom_root):
    train_root, test_root = osp.join(phantom_root, 'train'), osp.join(phantom_root, 'test')
    values = dict(data_root=train_root, fold=1, num_folds=3)
    if by == 'flags':
        cfg = read_config(osp.join(REPO_ROOT, config), None, **values)
        cfg_test = read_config(osp.join(REPO_ROOT, config), None, test_root=test_root)
    else:
        cfg = read_config(osp.join(REPO_ROOT, config), dict(values))
        cfg_test = read_config(osp.join(REPO_ROOT, config), dict(test_root=test_root))
    train, val = _built(cfg, 'train_dataloader'), _built(cfg, 'val_dataloader')
    for dataset in (train, val):
        assert (dataset.fold, dataset.num_folds) == (1, 3)
        assert all(info['img_path'].startswith(train_root) for info in dataset.infos)
    groups = lambda d: {info['group'] for info in d.infos}  # noqa: E731
    assert groups(train) and groups(val) and not groups(train) & groups(val)
    assert len(groups(train) | groups(val)) == 5  # the phantoms' 5 IDs
    test = _built(cfg_test, 'test_dataloader')
    assert len(test) and all(info['img_path'].startswith(test_root) for info in test.infos)
    assert cfg.data_root == train_root  # the dumped config says what ran


def test_fold_changes_the_validation_images(phantom_root):
    config = osp.join(REPO_ROOT, CONFIGS[0])
    root = osp.join(phantom_root, 'train')
    configs = [read_config(config, None, data_root=root, fold=k, num_folds=2) for k in (0, 1)]
    vals = [{i['img_path'] for i in _built(cfg, 'val_dataloader').infos} for cfg in configs]
    assert vals[0] and vals[1] and not vals[0] & vals[1]


@pytest.mark.parametrize('by', ['flags', 'cfg-options'])
def test_split_file_reaches_the_built_datasets(by, phantom_root, tmp_path, monkeypatch):
    from mmseg_ext.datasets.folds import write_split_file
    config = osp.join(REPO_ROOT, CONFIGS[0])
    root = osp.join(phantom_root, 'train')
    keys = DATASETS.build(dict(type='HandBoneDataset', data_root=root, pipeline=[])).image_keys()
    write_split_file(str(tmp_path / 'splits.json'),
                     [dict(train=keys[1:], val=keys[:1]), dict(train=keys[:1], val=keys[1:])])
    monkeypatch.chdir(tmp_path)  # a relative path is made absolute
    values = dict(data_root=root, fold=0, num_folds=2, split_file='splits.json')
    cfg = read_config(config, None, **values) if by == 'flags' else \
        read_config(config, dict(values))
    assert cfg.split_file == str(tmp_path / 'splits.json')  # the dumped config says it
    assert _built(cfg, 'val_dataloader').image_keys() == keys[:1]
    assert _built(cfg, 'train_dataloader').image_keys() == keys[1:]
    with pytest.raises(ConfigOptionError, match='--split-file nowhere.json: no such file'):
        read_config(config, None, split_file='nowhere.json')
    with pytest.raises(ConfigOptionError, match='disagree'):
        read_config(config, {'split_file': 'splits.json'}, split_file='other.json')


def test_train_flags_include_split_file():
    import argparse

    from mmseg_ext.utils.runtime.launch import add_data_args, data_flags
    parser = argparse.ArgumentParser()
    add_data_args(parser, training=True)
    args = parser.parse_args(['--fold', '1', '--folds', '3', '--split-file', 'w/splits.json'])
    assert data_flags(args) == dict(data_root=None, fold=1, num_folds=3,
                                    split_file='w/splits.json')


def test_bad_data_options_stop_naming_the_flag(phantom_root, tmp_path):
    config = osp.join(REPO_ROOT, CONFIGS[0])
    with pytest.raises(ConfigOptionError, match='--data-root .*no DCM/ folder'):
        read_config(config, None, data_root=str(tmp_path))
    (tmp_path / 'DCM').mkdir()
    with pytest.raises(ConfigOptionError, match='no outputs_json/ folder'):
        read_config(config, None, data_root=str(tmp_path))
    read_config(config, None, test_root=str(tmp_path))  # test images need no labels
    with pytest.raises(ConfigOptionError, match=r'--fold 3: outside 0\.\.2'):
        read_config(config, None, fold=3, num_folds=3)
    with pytest.raises(ConfigOptionError, match=r'--fold 5: outside 0\.\.4'):
        read_config(config, {'fold': 5})
    with pytest.raises(ConfigOptionError, match='disagree'):
        read_config(config, {'fold': 1}, fold=2)


@pytest.mark.parametrize('key', ['img_scale=(512,512)', 'max_iters=10', 'train_pipeline=[]'])
def test_top_level_variables_are_not_silently_ignored(key):
    name, value = key.split('=', 1)
    with pytest.raises(ConfigOptionError, match=f"'{name}' is a variable of"):
        read_config(osp.join(REPO_ROOT, CONFIGS[0]), {name: eval(value)})
    with pytest.raises(ConfigOptionError, match="did you mean 'data_root'"):
        read_config(osp.join(REPO_ROOT, CONFIGS[0]), {'data_rot': 'x'})


@pytest.mark.slow
def test_train_and_test_tools_stop_before_work_naming_the_flag(tmp_path):
    """The four refusals run one after the other in one process."""
    config = CONFIGS[1]
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'0')
    by_flag, by_option, variable, test = run_tool_cases(
        ['tools/train.py', config, '--data-root', tmp_path],
        ['tools/train.py', config, '--cfg-options', f'data_root={tmp_path}'],
        ['tools/train.py', config, '--cfg-options', 'img_scale=(512,512)'],
        ['tools/test.py', config, ckpt, '--data-root', tmp_path / 'none'], timeout=300)
    for proc in (by_flag, by_option):
        assert proc.returncode != 0
        assert f'--data-root {tmp_path}: no DCM/ folder' in proc.stderr
    assert variable.returncode != 0 and "'img_scale' is a variable of" in variable.stderr
    assert test.returncode != 0 and 'no DCM/ folder' in test.stderr


def test_predicted_classes_follow_the_config():
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.runtime.launch import predicted_classes
    assert predicted_classes(read_config(osp.join(REPO_ROOT, CONFIGS[1]))) == \
        list(HAND_BONE_CLASSES)
    wrist = read_config(osp.join(REPO_ROOT, 'projects/wrist_roi/configs/'
                                 'hrnet_w18_carpal_roi_phantom_cpu.py'))
    assert predicted_classes(wrist) == ['Trapezium', 'Trapezoid', 'Capitate', 'Hamate',
                                        'Scaphoid', 'Lunate', 'Triquetrum', 'Pisiform']


def _schedule(cfg):
    return [(s['type'], s.get('begin', 0), s['end']) for s in cfg.param_scheduler]


W18 = osp.join(REPO_ROOT, 'configs/hrnet/hrnet_w18_hand.py')


def test_changed_max_iters_moves_the_schedule_end():
    assert _schedule(read_config(W18)) == [('LinearLR', 0, 500),
                                           ('CosineAnnealingLR', 500, 20000)]
    longer = read_config(W18, {'train_cfg.max_iters': 40000})
    assert _schedule(longer) == [('LinearLR', 0, 500), ('CosineAnnealingLR', 500, 40000)]
    assert longer.max_iters == 40000
    # A smoke run: the warm-up is clipped to the new end, the cosine could never act.
    smoke = read_config(W18, {'train_cfg.max_iters': 12})
    assert _schedule(smoke) == [('LinearLR', 0, 12)]


def test_child_config_max_iters_moves_the_schedule_end(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{W18}']\ntrain_cfg = dict(max_iters=30000)\n")
    assert _schedule(read_config(str(child))) == [('LinearLR', 0, 500),
                                                  ('CosineAnnealingLR', 500, 30000)]
    own = tmp_path / 'own.py'  # a child that sets its own schedule keeps it
    own.write_text(f"_base_ = ['{W18}']\ntrain_cfg = dict(max_iters=30000)\nparam_scheduler = ["
                   "dict(type='PolyLR', by_epoch=False, begin=0, end=30000)]\n")
    assert _schedule(read_config(str(own))) == [('PolyLR', 0, 30000)]
