# Any segmentation_models_pytorch architecture with 29 sigmoid channels.
# ImageNet encoder weights (needs internet): set model.encoder_weights to imagenet.
num_classes = 29
data_preprocessor = dict(
    type='MultiLabelSegDataPreProcessor',
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=0,
    size_divisor=32,
    test_cfg=dict(size_divisor=32))
model = dict(
    type='SMPSegmentor',
    arch='Unet',
    encoder_name='resnet34',
    encoder_weights=None,
    in_channels=3,
    classes=num_classes,
    data_preprocessor=data_preprocessor,
    loss_decode=[
        dict(type='MultiLabelBCELoss', loss_weight=0.3),
        dict(type='MultiLabelDiceLoss', loss_weight=0.7),
    ],
    test_cfg=dict(mode='whole', threshold=0.5))
