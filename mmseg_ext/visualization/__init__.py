from .bar_chart import grouped_bar_chart
from .overlay import overlay_masks

__all__ = ['overlay_masks', 'grouped_bar_chart']
