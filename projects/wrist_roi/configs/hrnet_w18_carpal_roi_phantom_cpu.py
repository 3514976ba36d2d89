# Stage 2 of the wrist ROI refinement: HRNet-W18-Small on full-resolution carpal
# crops of the phantoms, 8 classes. Train from the repository root:
#   python tools/train.py projects/wrist_roi/configs/hrnet_w18_carpal_roi_phantom_cpu.py
_base_ = ['../../../configs/demo/hrnet_w18_phantom_cpu.py']
custom_imports = dict(imports=['mmseg_ext', 'projects.wrist_roi.wrist_roi'],
                      allow_failed_imports=False)
num_classes = 8
carpal_classes = ('Trapezium', 'Trapezoid', 'Capitate', 'Hamate', 'Scaphoid', 'Lunate',
                  'Triquetrum', 'Pisiform')

model = dict(
    data_preprocessor=dict(num_classes=num_classes, test_cfg=dict(size_divisor=32)),
    decode_head=dict(num_classes=num_classes))

train_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='CropCarpalROI', margin=0.15, jitter=0.1),
    dict(type='RandomShiftScaleRotate', shift_limit=0.03, scale_limit=0.1, rotate_limit=10,
         prob=0.5),
    dict(type='RandomBrightnessContrastGamma', prob=0.3),
    dict(type='PackSegInputs'),
]
# Scored at crop size: no Resize, the crop is the full-resolution region.
val_pipeline = [
    dict(type='LoadXRayImage'),
    dict(type='LoadHandBoneAnnotations'),
    dict(type='CropCarpalROI', margin=0.15),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DiceMetric', classes=carpal_classes)
test_evaluator = dict(_delete_=True, type='DiceMetric', classes=carpal_classes)
custom_hooks = [dict(type='RecordSplitHook')]  # no staged loss weights
