"""tools/setup.sh: mmcv's build decision on a machine where torch sees a GPU.

mmcv 2.1.0's setup.py builds the CUDA extension whenever
``torch.cuda.is_available()``, whatever FORCE_CUDA says. A stand-in torch
that reports a GPU (unless CUDA_VISIBLE_DEVICES is empty, as the CUDA
runtime does) shows that setup.sh's build environment hides it by default
and keeps it only with MMSEG_EXT_MMCV_CUDA=1.
"""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

FAKE_TORCH = '''import os
__version__ = '2.14.1'


class version:
    cuda = '13.0'


class cuda:
    @staticmethod
    def is_available():
        return os.environ.get('CUDA_VISIBLE_DEVICES', '0') != ''
'''


@pytest.fixture
def gpu_machine(tmp_path):
    """PYTHONPATH with a torch that reports a visible GPU."""
    (tmp_path / 'torch').mkdir()
    (tmp_path / 'torch' / '__init__.py').write_text(FAKE_TORCH)
    (tmp_path / 'torchvision').mkdir()
    (tmp_path / 'torchvision' / '__init__.py').write_text("__version__ = '0.29.1'\n")
    env = {k: v for k, v in os.environ.items() if k != 'CUDA_VISIBLE_DEVICES'}
    env.update(PYTHONPATH=str(tmp_path), MMSEG_EXT_CACHE=str(tmp_path / 'cache'),
               MMSEG_EXT_SETUP_PRINT_BUILD_DECISION='1')
    return env


def _decision(env) -> str:
    proc = subprocess.run(['bash', 'tools/setup.sh'], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
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
