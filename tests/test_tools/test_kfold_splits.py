"""tools/kfold.py's split file: ``W/splits.json`` written once and reused, ``--split-file``
copied in, and work dirs or files that do not fit stopped before any fold trains (the
functions, in this process; tests/test_tools/test_kfold.py runs the tool)."""
import importlib.util
import os.path as osp
import shutil
from types import SimpleNamespace

import pytest

from mmseg_ext.datasets.folds import read_split_file, split_of, write_split_file
from mmseg_ext.utils.runtime.config_options import ConfigOptionError
from tests.conftest import REPO_ROOT


@pytest.fixture(scope='module')
def kfold():
    spec = importlib.util.spec_from_file_location('kfold_tool',
                                                  osp.join(REPO_ROOT, 'tools', 'kfold.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def root(phantom_root):
    return osp.join(phantom_root, 'train')


def test_splits_json_is_written_once_as_group_kfold_and_reused(kfold, root, tmp_path):
    work = tmp_path / 'kf'
    keys = kfold.image_keys(root)
    assert len(keys) == 10 and keys[0].startswith('ID000/') and '.' not in keys[0]
    path = kfold.prepare_split_file(str(work), root, 2)
    assert path == str(work / 'splits.json') and read_split_file(path) == split_of(keys, 2)
    before = (work / 'splits.json').stat().st_mtime_ns
    assert kfold.prepare_split_file(str(work), root, 2) == path  # a re-run reads it
    assert (work / 'splits.json').stat().st_mtime_ns == before
    with pytest.raises(ConfigOptionError, match=f'{path} has 2 folds but --folds 3: give '
                       '--folds 2 or another --work-dir'):
        kfold.prepare_split_file(str(work), root, 3)


def test_given_split_file_is_copied_and_must_match(kfold, root, tmp_path):
    keys = kfold.image_keys(root)
    mine = [dict(train=keys[4:], val=keys[:4]), dict(train=keys[:4], val=keys[4:])]
    given = str(tmp_path / 'mine.json')
    write_split_file(given, mine)
    work = tmp_path / 'kf'
    path = kfold.prepare_split_file(str(work), root, 2, given)
    assert read_split_file(path) == mine
    assert kfold.prepare_split_file(str(work), root, 2, given) == path  # same folds: fine
    assert kfold.prepare_split_file(str(work), root, 2) == path
    write_split_file(given, split_of(keys, 2))
    with pytest.raises(ConfigOptionError, match=f'{path} holds other folds than --split-file '
                       f'{given}: use another --work-dir'):
        kfold.prepare_split_file(str(work), root, 2, given)
    with pytest.raises(ConfigOptionError, match='has 2 folds but --folds 5'):
        kfold.prepare_split_file(str(tmp_path / 'other'), root, 5, given)
    write_split_file(given, [dict(train=keys[4:-1], val=keys[:4]),
                             dict(train=keys[:4], val=keys[4:-1])])
    with pytest.raises(ConfigOptionError, match=f'--split-file {given}: fold 0 does not list '
                       f'exactly the images of {root}: {keys[-1]} is missing from it'):
        kfold.prepare_split_file(str(tmp_path / 'other'), root, 2, given)
    with pytest.raises(FileNotFoundError, match='nowhere.json does not exist'):
        kfold.prepare_split_file(str(tmp_path / 'other'), root, 2, str(tmp_path / 'nowhere.json'))
    assert not (tmp_path / 'other').exists()


@pytest.mark.parametrize('marker', ['fold_result.json', 'last_checkpoint'])
def test_work_dir_trained_before_splits_json_stops(kfold, root, tmp_path, marker):
    work = tmp_path / 'kf'
    (work / 'fold1').mkdir(parents=True)
    (work / 'fold1' / marker).write_text('{}')
    with pytest.raises(ConfigOptionError, match=f'{work / "fold1"} holds a trained fold '
                       rf'\({marker}\) but {work} has no splits.json.*scikit-learn.* Use '
                       'another --work-dir'):
        kfold.prepare_split_file(str(work), root, 2)
    assert not (work / 'splits.json').exists()
    shutil.rmtree(work / 'fold1')
    kfold.prepare_split_file(str(work), root, 2)  # fold dirs without training: fine


def test_fold_trained_elsewhere_on_this_split_is_kept(kfold, root, tmp_path):
    """A fold trained with tools/train.py --fold k --work-dir W/fold{k} (e.g. on a cluster)
    whose checkpoint recorded this split's fold k: kfold writes splits.json and goes on."""
    import torch

    from mmseg_ext.datasets.folds import split_of
    keys = kfold.image_keys(root)
    work = tmp_path / 'kf'
    (work / 'fold1').mkdir(parents=True)
    checkpoint = work / 'fold1' / 'iter_8.pth'
    (work / 'fold1' / 'last_checkpoint').write_text(str(checkpoint))
    val = split_of(keys, 2)[1]['val']
    torch.save({'meta': {'split': dict(train=[], val=list(reversed(val)))}}, checkpoint)
    kfold.prepare_split_file(str(work), root, 2)
    assert (work / 'splits.json').exists()
    (work / 'splits.json').unlink()
    torch.save({'meta': {'split': dict(train=[], val=val[1:])}}, checkpoint)
    with pytest.raises(ConfigOptionError, match='does not record the validation images of '
                       'fold 1'):
        kfold.prepare_split_file(str(work), root, 2)


def test_every_fold_trains_with_the_work_dirs_split_file(kfold):
    args = SimpleNamespace(config='c.py', folds=2, split_file='/w/splits.json', data_root=None,
                           amp=False, amp_dtype=None, auto_scale_lr=False, cfg_options=[])
    command = kfold.train_command(args, 1, '/w/fold1')
    assert command[command.index('--split-file') + 1] == '/w/splits.json'
