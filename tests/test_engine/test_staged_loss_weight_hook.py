from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmseg.registry import HOOKS, MODELS


def _runner():
    model = nn.Module()
    model.losses = nn.ModuleList([MODELS.build(dict(type='MultiLabelBCELoss', loss_weight=0.3)),
                                  MODELS.build(dict(type='MultiLabelDiceLoss', loss_weight=0.7))])
    return SimpleNamespace(model=model)


def _hook(patience=2):
    return HOOKS.build(dict(type='StagedLossWeightHook', patience=patience, stages=[
        dict(min_mdice=0.9, min_class_dice=dict(Pisiform=0.8),
             weights=dict(loss_bce=0.2, loss_dice=0.8)),
        dict(min_mdice=0.95, weights=dict(loss_bce=0.1, loss_dice=0.9)),
    ]))


def _weights(runner):
    return [m.loss_weight for m in runner.model.losses]


def test_stages_need_consecutive_passes_and_named_classes():
    runner, hook = _runner(), _hook()
    good = {'mDice': 0.92, 'Dice.Pisiform': 0.85}
    hook.after_val_epoch(runner, good)
    hook.after_val_epoch(runner, {'mDice': 0.92, 'Dice.Pisiform': 0.7})  # streak broken
    hook.after_val_epoch(runner, good)
    assert _weights(runner) == [0.3, 0.7]
    hook.after_val_epoch(runner, good)
    assert _weights(runner) == [0.2, 0.8] and hook.stage == 1
    hook.after_val_epoch(runner, {'mDice': 0.96, 'Dice.Pisiform': 0.9})
    hook.after_val_epoch(runner, {'mDice': 0.96, 'Dice.Pisiform': 0.9})
    assert _weights(runner) == [0.1, 0.9] and hook.stage == 2


def test_stage_survives_checkpoint():
    runner, hook = _runner(), _hook(patience=1)
    hook.after_val_epoch(runner, {'mDice': 0.92, 'Dice.Pisiform': 0.85})
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    resumed_runner, resumed = _runner(), _hook(patience=1)
    resumed.after_load_checkpoint(resumed_runner, checkpoint)
    resumed.before_train(resumed_runner)
    assert _weights(resumed_runner) == [0.2, 0.8]


def test_misspelt_names_fail_clearly():
    runner, hook = _runner(), _hook(patience=1)
    with pytest.raises(KeyError, match='Dice.Pisiform'):
        hook.after_val_epoch(runner, {'mDice': 0.92})
    bad = HOOKS.build(dict(type='StagedLossWeightHook', stages=[dict(weights=dict(loss_bec=1))]))
    with pytest.raises(KeyError, match='loss_bec'):
        bad.after_val_epoch(runner, {'mDice': 1.0})
    with pytest.raises(ValueError, match='unknown keys'):
        HOOKS.build(dict(type='StagedLossWeightHook', stages=[dict(weight=dict(loss_bce=1))]))
