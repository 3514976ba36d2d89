# The demo with the boundary-weighted BCE in place of plain BCE.
_base_ = ['./hrnet_w18_phantom_cpu.py']
model = dict(decode_head=dict(loss_decode=[
    dict(type='MultiLabelBoundaryBCELoss', band_width=2, boundary_weight=4.0, loss_weight=0.3),
    dict(type='MultiLabelDiceLoss', loss_weight=0.7),
]))
