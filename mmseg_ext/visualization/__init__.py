from .bar_chart import grouped_bar_chart
from .line_chart import line_chart
from .multilabel_visualizer import MultiLabelSegVisualizer, masks_figure
from .overlay import overlay_masks
from .panels import error_panel, legend, prediction_figure, titled

__all__ = ['overlay_masks', 'grouped_bar_chart', 'prediction_figure', 'error_panel', 'legend',
           'titled', 'MultiLabelSegVisualizer', 'masks_figure', 'line_chart']
