from .dice_metric import DiceMetric
from .mask_dump import MaskDump

__all__ = ['DiceMetric', 'MaskDump']
