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
    cfg.sync_bn = None  # torch's SyncBatchNorm runs on GPUs only
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)


def check_checkpoint_readable(checkpoint: str) -> None:
    """Fail now, not after building the model, when a local checkpoint cannot be opened."""
    if '://' in checkpoint:
        return  # a URL: mmengine fetches it
    try:
        with open(checkpoint, 'rb') as f:
            f.read(1)
    except OSError as err:
        raise FileNotFoundError(f'{checkpoint}: cannot read the checkpoint ({err})') from err


def set_local_rank_env(local_rank: int) -> None:
    """``torch.distributed.launch`` passes --local-rank; mmengine reads LOCAL_RANK."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def add_common_args(parser) -> None:
    """Arguments shared by tools/train.py and tools/test.py (as in mmseg's tools)."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    """Read ``args.config`` and apply launcher, ``--cfg-options`` and ``--work-dir``."""
    import os.path as osp
    set_local_rank_env(args.local_rank)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    prepare_launcher(cfg, args.launcher)  # after the options: what a CPU launch needs wins
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
