"""The installed package works through openmim from any directory."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from tests.helpers import tiny_config

MIM = osp.join(osp.dirname(sys.executable), 'mim')


def test_installed_copy_is_current():
    import mmseg_ext
    from tests.conftest import REPO_ROOT
    installed = osp.dirname(mmseg_ext.__file__)
    if osp.realpath(installed) == osp.realpath(osp.join(REPO_ROOT, 'mmseg_ext')):
        # the tests import the checkout; compare it with what mim uses
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec('mmseg_ext', [p for p in sys.path if 'site-packages' in p])
        installed = osp.dirname(spec.origin) if spec else None
    assert installed and 'site-packages' in installed, \
        'mmseg_ext is not installed: run bash tools/setup.sh'
    stale = [f'.mim/{tree}/{name}' for tree in ('tools', 'configs')
             for name in _differing_files(osp.join(installed, '.mim', tree),
                                          osp.join(REPO_ROOT, tree))]
    assert not stale, f'the installed tools/configs that mim runs differ from the checkout\'s ' \
                      f'({stale[:5]}): run bash tools/setup.sh'


def _differing_files(installed: str, checkout: str) -> list:
    """Files (relative paths) missing from one tree or different in content."""
    import filecmp

    def files(root):
        return {osp.relpath(osp.join(d, f), root) for d, dirs, names in os.walk(root)
                for f in names if '__pycache__' not in d and not f.endswith('.pyc')}
    ours, theirs = files(checkout), files(installed)
    return sorted((ours ^ theirs) | {f for f in ours & theirs if not filecmp.cmp(
        osp.join(installed, f), osp.join(checkout, f), shallow=False)})


def _mim(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run([MIM, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_installed_venv_keeps_pkg_resources():
    """openmim and mmcv's setup.py import pkg_resources (setuptools < 81)."""
    proc = subprocess.run([sys.executable, '-c', 'import pkg_resources, setuptools; '
                           'print(setuptools.__version__)'], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split('.')[0]) < 81


@pytest.mark.slow
def test_mim_run_train_help(tmp_path):
    # openmim's own --help handling only knows official codebases; '--' passes it on.
    proc = _mim('run', 'mmseg_ext', 'train', '--', '--help', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'usage: train.py' in proc.stdout and '--resume' in proc.stdout
    proc = _mim('run', 'mmseg_ext', 'test', '--', '--help', cwd=tmp_path)
    assert '--submission' in proc.stdout


@pytest.mark.slow
def test_mim_train_and_test_from_another_directory(phantom_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, work_dir, max_iters=1).dump(config)
    proc = _mim('train', 'mmseg_ext', config, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth'))
    out_csv = str(tmp_path / 'sub.csv')
    proc = _mim('run', 'mmseg_ext', 'test', config, osp.join(work_dir, 'iter_1.pth'),
                '--submission', out_csv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(out_csv) as f:
        assert sum(1 for _ in f) == 1 + 2 * 29


@pytest.mark.slow
def test_mim_search_lists_every_config(tmp_path):
    """model-index.yml and the per-folder metafiles reach the installed package."""
    import glob
    import re

    from tests.conftest import REPO_ROOT
    proc = _mim('search', 'mmseg_ext', cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    listed = set(re.findall(r'^config id: (\S+)', proc.stdout, re.M))
    configs = {osp.splitext(osp.basename(p))[0]
               for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py'))
               if '_base_' not in p}
    assert listed == configs
    assert re.search(r'config id: hrnet_w18_phantom_cpu\n(.*\n)*?.*mdice\s+94.77', proc.stdout)
