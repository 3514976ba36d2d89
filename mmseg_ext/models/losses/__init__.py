from .bce_loss import MultiLabelBCELoss
from .focal_loss import MultiLabelFocalLoss
from .tversky_loss import (MultiLabelDiceLoss, MultiLabelFocalTverskyLoss,
                           MultiLabelJaccardLoss, MultiLabelTverskyLoss)

__all__ = [
    'MultiLabelBCELoss', 'MultiLabelFocalLoss', 'MultiLabelTverskyLoss',
    'MultiLabelFocalTverskyLoss', 'MultiLabelDiceLoss', 'MultiLabelJaccardLoss'
]
