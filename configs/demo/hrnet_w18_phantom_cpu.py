# Demo: HRNetV2-W18-Small from scratch on generated phantoms, on a CPU, in minutes.
#   python tools/dataset_converters/make_phantoms.py data/phantoms --num-ids 20 --size 512
#   python tools/train.py configs/demo/hrnet_w18_phantom_cpu.py
_base_ = ['../hrnet/hrnet_w18_hand.py']
data_root = 'data/phantoms/train'
test_root = 'data/phantoms/test'
img_scale = (256, 256)
expected_device = 'cpu'
# CPU settings: no pinned memory, no cuDNN, no SyncBN (gloo on a CPU has none).
env_cfg = dict(cudnn_benchmark=False)
sync_bn = None

model = dict(
    backbone=dict(extra=dict(
        stage1=dict(num_blocks=(2, )),
        stage2=dict(num_blocks=(2, 2)),
        stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
        stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)))))

train_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomShiftScaleRotate', shift_limit=0.05, scale_limit=0.1,
         rotate_limit=10, prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomBrightnessContrastGamma', prob=0.3),
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
tta_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(s, s), keep_ratio=True) for s in (224, 256, 288)],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackSegInputs')],
    ]),
]
train_dataloader = dict(
    batch_size=4, num_workers=1, pin_memory=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, pin_memory=False,
                      dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = dict(num_workers=1, pin_memory=False,
                       dataset=dict(data_root=test_root, pipeline=test_pipeline))

max_iters = 400
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=200)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=200, max_keep_ckpts=1))
randomness = dict(seed=0)
