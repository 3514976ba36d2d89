"""kill -9 during training, then --resume; resumed training equals uninterrupted."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from tests.conftest import REPO_ROOT
from tests.helpers import tiny_config

pytestmark = pytest.mark.slow  # trains


def _deterministic(cfg):
    """No random augmentation, constant LR: two schedules of the same run must agree."""
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations'),
        dict(type='Resize', scale=(64, 64), keep_ratio=True), dict(type='PackSegInputs')]
    cfg.param_scheduler = []
    cfg.custom_hooks = []
    return cfg


def test_resume_equals_uninterrupted_training(phantom_root, tmp_path):
    straight = _deterministic(tiny_config(phantom_root, str(tmp_path / 'a'), max_iters=4))
    Runner.from_cfg(straight).train()
    first = _deterministic(tiny_config(phantom_root, str(tmp_path / 'b'), max_iters=2))
    Runner.from_cfg(first).train()
    second = _deterministic(tiny_config(phantom_root, str(tmp_path / 'b'), max_iters=4))
    second.resume = True
    Runner.from_cfg(second).train()
    a = _load_checkpoint(str(tmp_path / 'a' / 'iter_4.pth'))
    b = _load_checkpoint(str(tmp_path / 'b' / 'iter_4.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == 4
    for key, value in a['state_dict'].items():
        assert torch.allclose(value.float(), b['state_dict'][key].float(), atol=1e-5), key
    steps_a = a['optimizer']['state'][0]['step']
    assert float(steps_a) == float(b['optimizer']['state'][0]['step']) == 4


def test_sigkill_then_resume(phantom_root, tmp_path):
    work_dir = tmp_path / 'run'
    cfg = tiny_config(phantom_root, str(work_dir), max_iters=12)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 3
    cfg.train_cfg.val_interval = 1000
    cfg.log_level = 'INFO'
    config = str(tmp_path / 'cfg.py')
    cfg.dump(config)
    proc = subprocess.Popen([sys.executable, 'tools/train.py', config], cwd=REPO_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (work_dir / 'iter_3.pth').exists():
        assert proc.poll() is None and time.time() < deadline, 'training ended before iter 3'
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work_dir / 'iter_12.pth').exists()
    last = (work_dir / 'last_checkpoint').read_text().strip()
    killed_at = _load_checkpoint(last)['meta']['iter']
    assert killed_at >= 3
    resumed = subprocess.run([sys.executable, 'tools/train.py', config, '--resume'],
                             cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert f'Auto resumed from the latest checkpoint {last}' in log
    assert f'Iter(train) [{killed_at + 1:>2}/12]' in log
    assert 'Iter(train) [ 1/12]' not in log
    assert _load_checkpoint(str(work_dir / 'iter_12.pth'))['meta']['iter'] == 12
    assert not [p for p in os.listdir(work_dir) if p.endswith('.tmp')]
