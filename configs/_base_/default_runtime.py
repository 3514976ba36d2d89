default_scope = 'mmseg'
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# TensorBoard / W&B: add dict(type='TensorboardVisBackend') or
# dict(type='WandbVisBackend') (optional installs; W&B reads WANDB_API_KEY).
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='MultiLabelTTAModel')
# The full-size recipes are made for a GPU: tools/train.py warns when one starts on a CPU.
expected_device = 'cuda'
