from .dice_metric import DiceMetric

__all__ = ['DiceMetric']
