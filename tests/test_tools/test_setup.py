"""tools/setup.sh: what it decides before the long work (mmcv's build on a machine where
torch sees a GPU, a too old torch, too little free space) and the fresh path up to mmcv's build.

mmcv 2.1.0's setup.py builds the CUDA extension whenever
``torch.cuda.is_available()``, whatever FORCE_CUDA says. A stand-in torch
that reports a GPU (unless CUDA_VISIBLE_DEVICES is empty, as the CUDA
runtime does) shows that setup.sh's build environment hides it by default
and keeps it only with MMSEG_EXT_MMCV_CUDA=1.
"""
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # tools/setup.sh processes

FAKE_TORCH = '''import os
__version__ = '2.14.1'


class version:
    cuda = '13.0'


class cuda:
    @staticmethod
    def is_available():
        return os.environ.get('CUDA_VISIBLE_DEVICES', '0') != ''
'''


def _setup(*args, env, cwd=REPO_ROOT, timeout=600):
    """``bash tools/setup.sh ARGS`` in ``cwd`` (the checkout, or a fresh copy of it)."""
    return run_tool('tools/setup.sh', *args, env=env, interpreter='bash', cwd=cwd, check=False,
                    timeout=timeout)


@pytest.fixture
def gpu_machine(tmp_path):
    """PYTHONPATH with a torch that reports a visible GPU."""
    (tmp_path / 'torch').mkdir()
    (tmp_path / 'torch' / '__init__.py').write_text(FAKE_TORCH)
    (tmp_path / 'torchvision').mkdir()
    (tmp_path / 'torchvision' / '__init__.py').write_text("__version__ = '0.29.1'\n")
    env = {k: v for k, v in os.environ.items() if k != 'CUDA_VISIBLE_DEVICES'}
    env.update(PYTHONPATH=str(tmp_path), MMSEG_EXT_CACHE=str(tmp_path / 'cache'),
               MMSEG_EXT_SETUP_UNTIL='build-decision')
    return env


def _decision(env) -> str:
    proc = _setup(env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [ln for ln in proc.stdout.splitlines() if ln.startswith('mmcv CUDA extension')][-1]


def test_stand_in_torch_reports_a_gpu(gpu_machine):
    out = subprocess.run([sys.executable, '-c', 'import torch; print(torch.cuda.is_available())'],
                         env=gpu_machine, capture_output=True, text=True)
    assert out.stdout.strip() == 'True'


def test_mmcv_builds_cpu_ops_by_default_where_a_gpu_is_visible(gpu_machine):
    assert _decision(gpu_machine) == 'mmcv CUDA extension: False'


def test_cuda_ops_only_on_opt_in(gpu_machine):
    assert _decision(dict(gpu_machine, MMSEG_EXT_MMCV_CUDA='1')) == 'mmcv CUDA extension: True'


def _fresh_checkout(tmp_path):
    """The files setup.sh needs up to mmcv's build, in a folder with no .venv."""
    root = tmp_path / 'checkout'
    for rel in ('tools/setup.sh', 'mmseg_ext/utils/runtime/torch_support.py'):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(REPO_ROOT, rel), root / rel)
    shutil.copytree(os.path.join(REPO_ROOT, 'requirements'), root / 'requirements')
    return root


@pytest.fixture
def fresh_machine(tmp_path):
    """A checkout with no .venv and an empty home (no wheel cache); its ~6.5 GB venv is removed
    afterwards, so that repeated runs (pytest keeps three base temp folders) do not fill the
    disk."""
    root = _fresh_checkout(tmp_path)
    home = tmp_path / 'home'
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'MMSEG_EXT_CACHE', 'MMSEG_EXT_TORCH')}
    env.update(HOME=str(home))
    yield root, home, env
    shutil.rmtree(root)
    shutil.rmtree(home)


def test_fresh_machine_reaches_the_mmcv_build(fresh_machine):
    """torch's install must not lift setuptools past 80 (it asks for >= 77.0.3), or mmcv's
    setup.py fails on ``import pkg_resources``."""
    root, home, env = fresh_machine
    env.update(MMSEG_EXT_SETUP_UNTIL='mmcv-metadata')
    proc = _setup(env=env, cwd=root, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'installing torch==' in proc.stdout  # the fresh path: torch installed into .venv
    assert 'mmcv 2.1.0 metadata generated' in proc.stdout
    venv_py = str(root / '.venv' / 'bin' / 'python')
    check = subprocess.run(
        [venv_py, '-c', 'import pkg_resources, setuptools; print(setuptools.__version__)'],
        capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.split('.')[0]) < 81
    assert not list(home.glob('.cache/mmseg_ext/**/*.whl'))  # nothing cached, nothing built


def test_setup_refuses_a_torch_older_than_supported(tmp_path, gpu_machine):
    """torch 2.5 cannot read our allow-list: setup stops after torch, naming the remedy."""
    torch_init = os.path.join(gpu_machine['PYTHONPATH'], 'torch', '__init__.py')
    with open(torch_init) as f:
        source = f.read().replace("'2.14.1'", "'2.5.1'")
    with open(torch_init, 'w') as f:
        f.write(source)
    proc = _setup(env=dict(gpu_machine, MMSEG_EXT_TORCH='keep'))
    assert proc.returncode != 0
    assert 'torch 2.5.1 is older than mmseg_ext supports (2.6' in proc.stderr
    assert 'MMSEG_EXT_TORCH="torch==2.6.0' in proc.stderr


def _df_reporting(folder, free_gb: int) -> str:
    """A folder with a stand-in ``df`` that reports ``free_gb`` free on one disk."""
    bin_dir = folder / 'df-bin'
    bin_dir.mkdir()
    (bin_dir / 'df').write_text(
        '#!/bin/sh\necho "Filesystem 1024-blocks Used Available Capacity Mounted on"\n'
        f'echo "/dev/stand-in 999999999 0 {free_gb * 1048576} 1% /"\n')
    (bin_dir / 'df').chmod(0o755)
    return str(bin_dir)


@pytest.mark.parametrize('keep_torch,args,free_gb,need_gb,what', [
    (False, [], 11, 12, 'installing torch (with its CUDA libraries) and the rest'),
    (True, [], 2, 3, 'building mmcv and installing the rest'),
    (False, ['test'], 20, 21,
     'installing torch (with its CUDA libraries) and the rest, then the test suite,'),
    (True, ['test'], 11, 12, 'building mmcv and installing the rest, then the test suite,'),
])
def test_setup_stops_before_installing_without_the_free_space(fresh_machine, keep_torch, args,
                                                              free_gb, need_gb, what):
    """Too little free space (a stand-in ``df``, 1 GB short) is named before torch is installed,
    instead of pip's ``No space left on device`` minutes into the install: 12 GB to install
    torch, 3 GB to keep it, 9 GB more for the test suite (measured peaks: 8.7 GB installing
    torch, 16.7 GB for a fresh ``setup.sh test``)."""
    root, _, env = fresh_machine
    env.update(MMSEG_EXT_SETUP_UNTIL='mmcv-metadata',
               PATH=_df_reporting(root.parent, free_gb) + os.pathsep + env['PATH'])
    if keep_torch:
        env['MMSEG_EXT_TORCH'] = 'keep'
    proc = _setup(*args, env=env, cwd=root, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (f'setup: {root}/.venv has {free_gb} GB free; {what} needs about {need_gb} GB there. '
            'Free space, or put the checkout (and TMPDIR) on a larger disk') in proc.stderr
    assert 'installing torch==' not in proc.stdout
    assert not list((root / '.venv').glob('lib/python*/site-packages/torch'))


@pytest.mark.parametrize('args,free_gb', [([], 3), (['test'], 12)])
def test_setup_goes_on_with_just_enough_free_space(fresh_machine, args, free_gb):
    """At exactly the space asked for, setup passes the check (and here stops at the next one:
    MMSEG_EXT_TORCH=keep with no torch in the new .venv)."""
    root, _, env = fresh_machine
    env.update(MMSEG_EXT_TORCH='keep',
               PATH=_df_reporting(root.parent, free_gb) + os.pathsep + env['PATH'])
    proc = _setup(*args, env=env, cwd=root, timeout=300)
    assert 'needs about' not in proc.stderr
    assert proc.returncode == 2 and 'MMSEG_EXT_TORCH=keep, but' in proc.stderr, proc.stderr
