# hrnet_w18_hand.py at the images' own 2048² (the largest single lever in this competition:
# boostcampaitech8/pro-cv-semanticsegmentation-cv-11 reports 512 -> 1024 -> 2048 input as
# LB ~0.957 -> ~0.968 -> ~0.9715). Every pipeline (train, val, test, TTA) at 2048.
_base_ = './hrnet_w18_hand.py'
img_scale = (2048, 2048)
train_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomShiftScaleRotate', shift_limit=0.0625, scale_limit=0.1,
         rotate_limit=15, prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomElasticDeform', alpha=0.02, prob=0.2),
    dict(type='RandomApply', transforms=[dict(type='CLAHE')], prob=0.3),
    dict(type='RandomBrightnessContrastGamma', prob=0.5),
    dict(type='RandomNoiseBlur'),
    dict(type='PackSegInputs'),
]
val_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackSegInputs'),
]
img_ratios = [0.75, 1.0, 1.25]
tta_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(img_scale[0] * r), int(img_scale[1] * r)),
              keep_ratio=True) for r in img_ratios],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
