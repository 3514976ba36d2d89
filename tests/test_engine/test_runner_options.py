"""Runner features used through configs: early stopping on mDice, gradient accumulation."""
from types import SimpleNamespace

from mmengine.runner import Runner
from mmseg.registry import HOOKS

from tests.helpers import tiny_config


def test_early_stopping_on_mdice():
    hook = HOOKS.build(dict(type='EarlyStoppingHook', monitor='mDice', rule='greater',
                            patience=2))
    from mmengine.logging import MMLogger
    runner = SimpleNamespace(train_loop=SimpleNamespace(stop_training=False),
                             logger=MMLogger.get_current_instance())
    for value in (0.5, 0.6, 0.6, 0.59):
        hook.after_val_epoch(runner, {'mDice': value})
    assert runner.train_loop.stop_training


def test_gradient_accumulation_and_amp_config(phantom_root, tmp_path):
    cfg = tiny_config(phantom_root, str(tmp_path), max_iters=4)
    cfg.optim_wrapper.accumulative_counts = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.optim_wrapper._accumulative_counts == 2
    assert runner.iter == 4
