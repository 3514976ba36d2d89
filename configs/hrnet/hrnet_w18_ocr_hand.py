_base_ = './hrnet_w18_hand.py'
# HRNetV2-W18 + OCR: an FCN stage gives soft object regions, the OCR head refines them.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='MultiLabelCascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(type='FCNHead', in_channels=[18, 36, 72, 144], channels=sum([18, 36, 72, 144]),
             in_index=(0, 1, 2, 3), input_transform='resize_concat', kernel_size=1,
             num_convs=1, concat_input=False, dropout_ratio=-1, num_classes={{_base_.num_classes}},
             norm_cfg=norm_cfg, align_corners=False,
             loss_decode=[dict(type='MultiLabelBCELoss', loss_weight=0.12),
                          dict(type='MultiLabelDiceLoss', loss_weight=0.28)]),
        dict(type='OCRHead', in_channels=[18, 36, 72, 144], in_index=(0, 1, 2, 3),
             input_transform='resize_concat', channels=512, ocr_channels=256,
             dropout_ratio=-1, num_classes={{_base_.num_classes}}, norm_cfg=norm_cfg,
             align_corners=False,
             loss_decode=[dict(type='MultiLabelBCELoss', loss_weight=0.3),
                          dict(type='MultiLabelDiceLoss', loss_weight=0.7)]),
    ])
