# HRNetV2-W18 + FCNHead with 29 independent sigmoid channels.
# For several GPUs use norm_cfg = dict(type='SyncBN', requires_grad=True).
# ImageNet weights (needs internet): set model.pretrained to mmseg's hrnetv2_w18 checkpoint.
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 29
data_preprocessor = dict(
    type='MultiLabelSegDataPreProcessor',
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=0,
    size_divisor=32)
model = dict(
    type='MultiLabelEncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='HRNet',
        norm_cfg=norm_cfg,
        norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                        num_blocks=(4, ), num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                        num_blocks=(4, 4), num_channels=(18, 36)),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                        num_blocks=(4, 4, 4), num_channels=(18, 36, 72)),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                        num_blocks=(4, 4, 4, 4), num_channels=(18, 36, 72, 144)))),
    decode_head=dict(
        type='FCNHead',
        in_channels=[18, 36, 72, 144],
        in_index=(0, 1, 2, 3),
        channels=sum([18, 36, 72, 144]),
        input_transform='resize_concat',
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='MultiLabelBCELoss', loss_weight=0.3),
            dict(type='MultiLabelDiceLoss', loss_weight=0.7),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', threshold=0.5))
