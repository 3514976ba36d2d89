# hrnet_w48_hand.py at 2048² (the first-place team's final ensemble was three 2048 models).
# A training step at batch 2 needs ~28 GB of memory.
_base_ = './hrnet_w18_hand_2048.py'
model = dict(
    backbone=dict(extra=dict(
        stage2=dict(num_channels=(48, 96)),
        stage3=dict(num_channels=(48, 96, 192)),
        stage4=dict(num_channels=(48, 96, 192, 384)))),
    decode_head=dict(in_channels=[48, 96, 192, 384], channels=sum([48, 96, 192, 384])))
