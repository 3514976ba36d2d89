_base_ = [
    '../_base_/models/hrnet_w18_multilabel.py', '../_base_/datasets/hand_bone.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adamw_cosine_20k.py'
]
# The seed team's recipe: 1024 input, AdamW 1e-3, BCE+Dice 0.3:0.7, cosine with
# warm-up, best checkpoint by mDice; add --amp on a GPU.
