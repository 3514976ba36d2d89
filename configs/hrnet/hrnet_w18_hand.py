_base_ = [
    '../_base_/models/hrnet_w18_multilabel.py', '../_base_/datasets/hand_bone.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adamw_cosine_20k.py'
]
# The recipe of boostcampaitech8/pro-cv-semanticsegmentation-cv-11 (first on the private
# leaderboard): 1024 input, AdamW 1e-3, BCE+Dice 0.3:0.7, cosine with warm-up, best
# checkpoint by mDice; add --amp on a GPU.
# Its staged loss switching: BCE:Dice 0.3:0.7 -> 0.2:0.8 -> 0.1:0.9 once val Dice
# (and the hard carpals Pisiform/Trapezoid) pass thresholds for 3 evaluations in a row.
custom_hooks = [
    dict(type='RecordSplitHook'),  # the split in every checkpoint (default_runtime.py)
    dict(type='StagedLossWeightHook', patience=3, stages=[
        dict(min_mdice=0.95, min_class_dice=dict(Pisiform=0.85, Trapezoid=0.85),
             weights=dict(loss_bce=0.2, loss_dice=0.8)),
        dict(min_mdice=0.96, min_class_dice=dict(Pisiform=0.88, Trapezoid=0.88),
             weights=dict(loss_bce=0.1, loss_dice=0.9)),
    ]),
    # dict(type='EarlyStoppingHook', monitor='mDice', rule='greater', patience=10),
]
# Gradient accumulation: optim_wrapper = dict(accumulative_counts=4)
randomness = dict(seed=42)
