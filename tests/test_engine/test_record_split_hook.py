"""The split (image keys, fold, data root) in every checkpoint, read back with
checkpoint_split."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmseg.registry import HOOKS

from mmseg_ext.datasets import HandBoneDataset
from mmseg_ext.utils.fileio.checkpoint import checkpoint_split


def _dataset(root, **kwargs):
    return HandBoneDataset(data_root=root, pipeline=[], **kwargs)


class _RunnerWithoutVal:
    """As mmengine's Runner without a validation loop: ``val_dataloader`` raises."""

    def __init__(self, train):
        self.train_dataloader = SimpleNamespace(dataset=train)

    @property
    def val_dataloader(self):
        raise AttributeError("'NoneType' object has no attribute 'dataloader'")


def test_hook_records_the_keys_of_wrapped_datasets(phantom_root, tmp_path):
    root = osp.join(phantom_root, 'train')
    every = _dataset(root).image_keys()
    train = _dataset(root, fold=1, num_folds=2, split='train')
    val = _dataset(root, fold=1, num_folds=2, split='val')
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=RepeatDataset(train, times=3)),
        val_dataloader=SimpleNamespace(dataset=ConcatDataset([val])))
    hook = HOOKS.build(dict(type='RecordSplitHook'))
    checkpoint = dict(meta=dict(iter=2), state_dict={})
    hook.before_save_checkpoint(runner, checkpoint)
    split = checkpoint['meta']['split']
    assert split == dict(train=train.image_keys(), val=val.image_keys(), fold=1, num_folds=2,
                         data_root=osp.abspath(root))
    assert sorted(split['train'] + split['val']) == every and checkpoint['meta']['iter'] == 2
    assert all('/' in key and not key.endswith('.png') for key in every)

    path = tmp_path / 'iter_2.pth'
    torch.save(checkpoint, path)
    assert checkpoint_split(str(path)) == split  # plain types: weights_only loads them

    without_val = dict(meta={})
    HOOKS.build(dict(type='RecordSplitHook')).before_save_checkpoint(
        _RunnerWithoutVal(_dataset(root)), without_val)
    assert without_val['meta']['split']['val'] == []
    assert without_val['meta']['split']['train'] == every
    assert without_val['meta']['split']['fold'] is None


def test_checkpoint_without_split_reads_none(tmp_path):
    path = tmp_path / 'old.pth'
    torch.save(dict(meta=dict(iter=4), state_dict={'w': torch.zeros(1)}), path)
    assert checkpoint_split(str(path)) is None
    with pytest.raises(FileNotFoundError, match='nowhere.pth does not exist'):
        checkpoint_split(str(tmp_path / 'nowhere.pth'))


@pytest.mark.slow
def test_trained_checkpoint_holds_the_split(phantom_root, tmp_path):
    from mmengine.runner import Runner

    from tests.helpers import tiny_config
    cfg = tiny_config(phantom_root, str(tmp_path / 'run'))
    assert {'type': 'RecordSplitHook'} in cfg.custom_hooks
    Runner.from_cfg(cfg).train()
    split = checkpoint_split(str(tmp_path / 'run' / 'iter_2.pth'))
    root = osp.join(phantom_root, 'train')
    assert split['val'] == _dataset(root, fold=0, split='val').image_keys()
    assert split['train'] == _dataset(root, fold=0, split='train').image_keys()
    assert (split['fold'], split['num_folds'], split['data_root']) == (0, 5, root)
