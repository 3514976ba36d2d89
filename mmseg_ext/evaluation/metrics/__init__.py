from .boundary_metric import BoundaryMetric
from .dice_metric import DiceMetric
from .mask_dump import MaskDump

__all__ = ['BoundaryMetric', 'DiceMetric', 'MaskDump']
