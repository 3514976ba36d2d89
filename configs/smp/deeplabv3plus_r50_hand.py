_base_ = [
    '../_base_/models/smp_multilabel.py', '../_base_/datasets/hand_bone.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adamw_cosine_20k.py'
]
model = dict(arch='DeepLabV3Plus', encoder_name='resnet50')
