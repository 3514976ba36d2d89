"""Switch loss weights in stages when validation Dice passes thresholds."""
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


def _loss_modules(model: nn.Module) -> List[nn.Module]:
    """Every loss module (anything with ``loss_name``) inside the model's heads."""
    model = model.module if is_model_wrapper(model) else model
    return [m for m in model.modules() if hasattr(m, 'loss_name') and hasattr(m, 'loss_weight')]


@HOOKS.register_module()
class StagedLossWeightHook(Hook):
    """Move to the next loss weighting when val Dice passes its conditions.

    The schedule of boostcampaitech8/pro-cv-semanticsegmentation-cv-11 (first on the
    private leaderboard), for example (BCE:Dice 0.3:0.7 at the start)::

        dict(type='StagedLossWeightHook', patience=3, stages=[
            dict(min_mdice=0.95, min_class_dice=dict(Pisiform=0.85, Trapezoid=0.85),
                 weights=dict(loss_bce=0.2, loss_dice=0.8)),
            dict(min_mdice=0.96, min_class_dice=dict(Pisiform=0.88, Trapezoid=0.88),
                 weights=dict(loss_bce=0.1, loss_dice=0.9)),
        ])

    Stage ``i`` is entered once its conditions held for ``patience``
    consecutive evaluations (stages are taken in order). ``weights`` maps a
    loss's ``loss_name`` to its new ``loss_weight`` in every head. The
    current stage is saved in checkpoints, so ``--resume`` keeps it.

    Args:
        stages (Sequence[dict]): Each with ``weights`` and optionally
            ``min_mdice`` and ``min_class_dice`` ({class: Dice}).
        patience (int): Consecutive evaluations that must pass. Defaults to 1.
        metric_prefix (str): Prefix of the per-class keys logged by
            ``DiceMetric``. Defaults to 'Dice.'.
    """
    priority = 'LOW'

    def __init__(self, stages: Sequence[dict], patience: int = 1,
                 metric_prefix: str = 'Dice.') -> None:
        for i, stage in enumerate(stages):
            unknown = set(stage) - {'weights', 'min_mdice', 'min_class_dice'}
            if unknown or 'weights' not in stage:
                raise ValueError(f'StagedLossWeightHook stage {i}: needs "weights", '
                                 f'unknown keys {sorted(unknown)}')
        if patience < 1:
            raise ValueError(f'patience must be >= 1, got {patience}')
        self.stages = list(stages)
        self.patience = patience
        self.metric_prefix = metric_prefix
        self.stage = 0  # number of stages entered
        self._streak = 0

    def _passes(self, stage: dict, metrics: Dict[str, float]) -> bool:
        if metrics.get('mDice', 0.0) < stage.get('min_mdice', 0.0):
            return False
        for name, minimum in stage.get('min_class_dice', {}).items():
            key = self.metric_prefix + name
            if key not in metrics:
                raise KeyError(f'StagedLossWeightHook: metric {key!r} is not logged '
                               f'(class name misspelt?)')
            if metrics[key] < minimum:
                return False
        return True

    def apply_weights(self, runner, weights: Dict[str, float]) -> None:
        """Set ``loss_weight`` of the named losses in every head."""
        modules = _loss_modules(runner.model)
        names = {m.loss_name for m in modules}
        missing = set(weights) - names
        if missing:
            raise KeyError(f'StagedLossWeightHook: no loss named {sorted(missing)}; '
                           f'the model has {sorted(names)}')
        for module in modules:
            if module.loss_name in weights:
                module.loss_weight = float(weights[module.loss_name])

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if self.stage >= len(self.stages) or not metrics:
            return
        stage = self.stages[self.stage]
        self._streak = self._streak + 1 if self._passes(stage, metrics) else 0
        if self._streak >= self.patience:
            self.apply_weights(runner, stage['weights'])
            self.stage += 1
            self._streak = 0
            print_log(f'StagedLossWeightHook: entered stage {self.stage}: {stage["weights"]}',
                      logger='current')

    def before_train(self, runner) -> None:
        for stage in self.stages[:self.stage]:
            self.apply_weights(runner, stage['weights'])

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['staged_loss_stage'] = self.stage

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.stage = int(checkpoint.get('meta', {}).get('staged_loss_stage', 0))
