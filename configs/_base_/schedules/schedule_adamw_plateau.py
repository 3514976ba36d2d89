# AdamW with ReduceOnPlateau on val mDice (mmengine's ReduceOnPlateauLR).
_base_ = './schedule_adamw_cosine_20k.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='ReduceOnPlateauLR', monitor='mDice', rule='greater', factor=0.5, patience=3,
         by_epoch=False, begin=500),
]
