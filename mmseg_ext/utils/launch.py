"""Helpers shared by tools/train.py and tools/test.py."""
import os

import torch
from mmengine.config import Config


def prepare_launcher(cfg: Config, launcher: str) -> None:
    """Record the launcher; on a machine without CUDA, start a gloo group.

    mmengine's own ``init_dist('pytorch')`` calls ``torch.cuda.set_device``
    and fails on a CPU. With a process group already started the Runner skips
    its own initialisation, and ``device_ids=None`` makes DDP run on the CPU.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs GPUs; on a CPU use --launcher pytorch')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.env_cfg = {**cfg.get('env_cfg', {}), 'dist_cfg': dict(backend='gloo')}
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)


def set_local_rank_env(local_rank: int) -> None:
    """``torch.distributed.launch`` passes --local-rank; mmengine reads LOCAL_RANK."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))
