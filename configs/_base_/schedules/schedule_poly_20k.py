# mmseg's usual poly decay, with AdamW.
_base_ = './schedule_adamw_cosine_20k.py'
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-6, power=0.9, begin=0, end={{_base_.max_iters}},
         by_epoch=False)
]
