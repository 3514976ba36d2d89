# The demo with left hands flipped to the right-hand orientation (train and test);
# no random horizontal flip, so the model only sees right hands.
_base_ = ['./hrnet_w18_phantom_cpu.py']
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'reduce_zero_label', 'hand_flip')
train_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='HandSideNormalize'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='RandomShiftScaleRotate', shift_limit=0.05, scale_limit=0.1,
         rotate_limit=10, prob=0.5),
    dict(type='RandomBrightnessContrastGamma', prob=0.3),
    dict(type='PackSegInputs'),
]
val_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='HandSideNormalize'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='HandSideNormalize'),
    dict(type='Resize', scale={{_base_.img_scale}}, keep_ratio=True),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
