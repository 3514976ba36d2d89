# Hand-bone X-rays: DCM/IDxxx/*.png|*.dcm + outputs_json/IDxxx/*.json.
dataset_type = 'HandBoneDataset'
data_root = 'data/hand_bone/train'
test_root = 'data/hand_bone/test'
img_scale = (1024, 1024)
fold = 0
num_folds = 5

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
# Ground truth is loaded after Resize: it stays at the original size for the metric.
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
# --tta: probabilities averaged over scales x horizontal flip (MultiLabelTTAModel).
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

# Loader workers per process (one process per GPU): the CPUs this process may use, shared by
# the processes of this node (torchrun's LOCAL_WORLD_SIZE), one kept for the main process, at
# most 4. One worker makes 16-20 samples/s of this pipeline on a 2-core CPU; an H200 trains
# W18/W48 at batch 2 on 9-13 samples/s (README). Override: --cfg-options
# train_dataloader.num_workers=N. (__import__, not an import statement: mmengine reads a
# config with `import os` in a virtualenv as a lazy-import one.)
_os = __import__('os')
num_workers = max(1, min(4, len(_os.sched_getaffinity(0))
                         // int(_os.environ.get('LOCAL_WORLD_SIZE', 1)) - 1))
train_dataloader = dict(
    batch_size=2,
    num_workers=num_workers,
    pin_memory=True,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, fold=fold, num_folds=num_folds,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=num_workers,
    pin_memory=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, fold=fold, num_folds=num_folds,
                 split='val', pipeline=val_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=num_workers,
    pin_memory=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=test_root, test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='DiceMetric')
test_evaluator = []  # the test set has no labels; --submission writes the CSV
