"""A config made for a GPU stops before the model is built where CUDA cannot run it.

Stand-in machines (tests/standin_devices.py) answer torch's CUDA queries and
``nvidia-smi`` as a V100 with torch's CUDA 13.0 build, an A100 with a driver
older than CUDA 13 needs, and a CPU-only torch on an H100 machine would; the
real CPU here is the fourth case.
"""
import os
import os.path as osp

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import run_tool, run_tool_cases
from tests.standin_devices import standin_env

pytestmark = pytest.mark.slow  # tool processes on stand-in machines

FULL_SIZE = osp.join(REPO_ROOT, 'configs', 'hrnet', 'hrnet_w18_hand.py')
REASONS = {
    'v100_cu130': 'has no kernels for compute capability 7.0',
    'a100_old_driver': 'driver 535.104.05 is too old for this torch\'s CUDA 13.0',
    'cpu_torch_h100': 'this torch is a CPU-only build',
    'cpu': 'sees no GPU and nvidia-smi lists none',
}


def _env(machine, tmp_path):
    if machine == 'cpu':
        return dict(os.environ)  # this machine: no GPU, no nvidia-smi
    return standin_env(machine, str(tmp_path / 'standin'), dict(os.environ))


def _commands(tmp_path, phantom_root):
    checkpoint = tmp_path / 'any.pth'
    checkpoint.write_bytes(b'x')  # readable: the device check comes before loading it
    return {
        'train': ['tools/train.py', FULL_SIZE, '--work-dir', str(tmp_path / 'work')],
        'test': ['tools/test.py', FULL_SIZE, str(checkpoint), '--work-dir',
                 str(tmp_path / 'work'), '--submission', str(tmp_path / 'out.csv')],
        'predict': ['tools/predict.py', '--model', f'{FULL_SIZE}:{checkpoint}',
                    '--image-root', osp.join(phantom_root, 'test', 'DCM'),
                    '--submission', str(tmp_path / 'out.csv')],
    }


@pytest.mark.parametrize('machine', sorted(REASONS))
def test_gpu_config_stops_before_the_model(machine, tmp_path, phantom_root):
    """tools/train.py, test.py and predict.py, one after the other in one process on the
    machine."""
    commands = _commands(tmp_path, phantom_root)
    procs = run_tool_cases(*commands.values(), env=_env(machine, tmp_path), timeout=300)
    for tool, proc in zip(commands, procs):
        assert proc.returncode != 0, tool
        assert 'This config is made for a GPU' in proc.stderr, (tool, proc.stderr[-3000:])
        assert REASONS[machine] in proc.stderr, tool
        assert 'MMSEG_EXT_TORCH="torch==2.6.0 torchvision==0.21.0"' in proc.stderr, tool
        assert '--cfg-options expected_device=cpu' in proc.stderr, tool
    # nothing was built or written: no work dir, no log, no CSV
    assert not (tmp_path / 'work').exists() and not (tmp_path / 'out.csv').exists()


def test_bfloat16_refused_on_a_v100_naming_float16(tmp_path):
    """The remedy's torch runs on a V100, which has no bfloat16: --amp-dtype bfloat16 stops."""
    env = standin_env('v100_cu124', str(tmp_path / 'standin'), dict(os.environ))
    proc = run_tool('tools/train.py', FULL_SIZE, '--work-dir', str(tmp_path / 'work'), '--amp',
                    '--amp-dtype', 'bfloat16', env=env, check=False, timeout=300)
    assert proc.returncode != 0
    assert 'bfloat16 needs compute capability >= 8.0' in proc.stderr, proc.stderr[-3000:]
    assert 'use --amp-dtype float16' in proc.stderr
    assert not (tmp_path / 'work').exists()


def test_device_report_names_the_v100_problem(tmp_path):
    env = standin_env('v100_cu130', str(tmp_path / 'standin'), dict(os.environ))
    proc = run_tool('-m', 'mmseg_ext.utils.runtime.device_report', env=env, timeout=120)
    assert proc.stdout.startswith('device: Tesla V100-SXM2-32GB (compute capability 7.0)')
    assert 'GPU not usable' in proc.stdout and 'no kernels for compute capability 7.0' in \
        proc.stdout
