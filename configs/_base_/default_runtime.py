default_scope = 'mmseg'
custom_imports = dict(imports=['mmseg_ext'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,  # fixed input size (1024²): cuDNN picks its fastest kernels once
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
# TensorBoard / W&B: add dict(type='TensorboardVisBackend') or
# dict(type='WandbVisBackend') (optional installs; W&B reads WANDB_API_KEY).
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='MultiLabelSegVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='MultiLabelTTAModel')
# The training/validation image keys in every checkpoint (meta.split); a config that sets
# its own custom_hooks keeps this one in its list.
custom_hooks = [dict(type='RecordSplitHook')]
# The full-size recipes are made for a GPU: tools/train.py, test.py and predict.py stop
# before building the model where CUDA cannot run (--cfg-options expected_device=cpu runs
# them on the CPU anyway).
expected_device = 'cuda'
# Launched distributed (tools/dist_train.sh, slurm): BatchNorm statistics over all GPUs' images.
sync_bn = 'torch'
# The learning rates were set for a total batch of 2 (1 GPU x 2 images); tools/train.py
# --auto-scale-lr scales them linearly with the real total batch (GPUs x batch_size).
auto_scale_lr = dict(enable=False, base_batch_size=2)
