from .bce_loss import MultiLabelBCELoss
from .boundary_bce_loss import MultiLabelBoundaryBCELoss
from .focal_loss import MultiLabelFocalLoss
from .tversky_loss import (MultiLabelDiceLoss, MultiLabelFocalTverskyLoss, MultiLabelJaccardLoss,
                           MultiLabelTverskyLoss)

__all__ = [
    'MultiLabelBCELoss', 'MultiLabelBoundaryBCELoss', 'MultiLabelFocalLoss',
    'MultiLabelTverskyLoss', 'MultiLabelFocalTverskyLoss', 'MultiLabelDiceLoss',
    'MultiLabelJaccardLoss'
]
