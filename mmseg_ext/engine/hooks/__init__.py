from .learning_curve_hook import LearningCurveHook
from .multilabel_visualization_hook import MultiLabelVisualizationHook
from .record_split_hook import RecordSplitHook
from .staged_loss_weight_hook import StagedLossWeightHook
from .submission_hook import SubmissionHook

__all__ = ['SubmissionHook', 'StagedLossWeightHook', 'MultiLabelVisualizationHook',
           'LearningCurveHook', 'RecordSplitHook']
