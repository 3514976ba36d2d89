"""tools/train.py --auto-scale-lr: the learning rate follows the total batch."""
import pytest

from tests.helpers import run_tool, tiny_config

pytestmark = pytest.mark.slow  # trains through tools/train.py


def test_auto_scale_lr_scales_by_total_batch_over_base(phantom_root, tmp_path):
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, str(tmp_path / 'work'), max_iters=1).dump(config)
    # batch 2 on one process against a base batch of 1 (the configs say 2): twice the LR
    proc = run_tool('tools/train.py', config, '--auto-scale-lr', '--cfg-options',
                    'auto_scale_lr.base_batch_size=1', 'log_level=INFO')
    assert 'Scaling the original LR by 2.0' in proc.stdout + proc.stderr
    proc = run_tool('tools/train.py', config, '--cfg-options', 'auto_scale_lr.base_batch_size=1',
                    'log_level=INFO', 'train_cfg.max_iters=1')
    assert 'Scaling the original LR' not in proc.stdout + proc.stderr  # off by default
