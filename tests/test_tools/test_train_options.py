"""tools/train.py: the learning rate follows the total batch (--auto-scale-lr) and a changed
train_cfg.max_iters (the schedule's end moves with it)."""
import math

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


def test_changed_max_iters_moves_the_schedule_end_in_the_logged_lr(phantom_root, tmp_path):
    """A schedule written for 40 iterations run with ``train_cfg.max_iters=6``: the warm-up
    keeps its 2 iterations and the cosine decays over the 6, as scalars.json shows."""
    from mmseg_ext.utils.formats.scalars_json import read_scalars
    cfg = tiny_config(phantom_root, str(tmp_path / 'work'), max_iters=40)
    cfg.max_iters = 40
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2),
        dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=2, end=40)]
    config = str(tmp_path / 'tiny.py')
    cfg.dump(config)
    run_tool('tools/train.py', config, '--cfg-options', 'train_cfg.max_iters=6')
    lr = {e['step']: e['lr'] for e in read_scalars(str(tmp_path / 'work')) if 'lr' in e}
    base = cfg.optim_wrapper.optimizer.lr
    assert sorted(lr) == [1, 2, 3, 4, 5, 6]
    assert lr[1] == pytest.approx(0.5 * base)  # the warm-up's start
    # cosine over iterations 2..6: at the last one (index 5) 1/2 (1 + cos(3/4 pi)) of the base
    assert lr[6] == pytest.approx(base * (1 + math.cos(0.75 * math.pi)) / 2, rel=1e-4)
