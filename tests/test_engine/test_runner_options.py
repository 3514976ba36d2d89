"""Runner options the README offers through configs, run as a user runs them
(``tools/train.py`` on a dumped config): early stopping on our ``mDice``, gradient
accumulation of our losses. The checks are on what the run leaves behind."""
import os
import os.path as osp

import pytest
import torch

from tests.helpers import run_tool, tiny_config

pytestmark = pytest.mark.slow  # trains through tools/train.py


def _train(cfg, tmp_path, *extra):
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    proc = run_tool('tools/train.py', path, *extra, timeout=600)
    return proc.stdout + proc.stderr


def _checkpoints(work_dir):
    return sorted(int(name[5:-4]) for name in os.listdir(work_dir)
                  if name.startswith('iter_') and name.endswith('.pth'))


def test_early_stopping_reads_our_mdice_and_ends_training(phantom_root, tmp_path):
    """Validation every iteration; mDice can never improve by 1.0, so with patience 1
    training stops after the second validation: checkpoints 1 and 2 of 6, and the
    hook's reason in the log. Fails if our metric stops reporting ``mDice`` (the hook
    then only warns and all 6 iterations run) or the train loop ignores the stop."""
    work_dir = str(tmp_path / 'work')
    cfg = tiny_config(phantom_root, work_dir, max_iters=6)
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.pop('max_keep_ckpts', None)
    cfg.default_hooks.checkpoint.save_best = None
    cfg.log_level = 'INFO'
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='EarlyStoppingHook', monitor='mDice', rule='greater', min_delta=1.0,
             patience=1)]
    log = _train(cfg, tmp_path)
    assert _checkpoints(work_dir) == [1, 2], log[-3000:]
    assert 'the monitored metric did not improve in the last 1 records' in log
    assert log.count('mDice:') >= 2  # both validations reported our metric


def test_gradient_accumulation_steps_the_optimizer_every_n_iterations(phantom_root, tmp_path):
    """``optim_wrapper.accumulative_counts=2`` from the command line: 4 iterations, 2
    optimizer steps (AdamW counts its steps in the checkpoint), without it 4."""
    counts = {}
    for accumulate in (1, 2):
        work_dir = tmp_path / f'acc{accumulate}'
        work_dir.mkdir()
        cfg = tiny_config(phantom_root, str(work_dir), max_iters=4)
        _train(cfg, work_dir, '--cfg-options',
               f'optim_wrapper.accumulative_counts={accumulate}')
        ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu',
                          weights_only=False)
        assert ckpt['meta']['iter'] == 4
        steps = {int(state['step']) for state in ckpt['optimizer']['state'].values()}
        assert len(steps) == 1, steps
        counts[accumulate] = steps.pop()
    assert counts == {1: 4, 2: 2}
