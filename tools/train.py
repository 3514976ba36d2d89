"""Train a segmentor: ``python tools/train.py CONFIG [--work-dir D] [--resume] [--amp]``.

Same arguments as mmseg's tools/train.py; also works without a GPU
(``--launcher pytorch`` then uses gloo).
"""
import os.path as osp
import sys

# Run from a checkout: use its mmseg_ext, not an older installed copy.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isdir(osp.join(_REPO, 'mmseg_ext')):
    sys.path.insert(0, _REPO)

import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmseg_ext  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_ext.utils.launch import prepare_launcher, set_local_rank_env


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a multi-label segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true', default=False,
                        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic mixed precision training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    set_local_rank_env(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    prepare_launcher(cfg, args.launcher)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    cfg.resume = args.resume or cfg.get('resume', False)
    os.makedirs(cfg.work_dir, exist_ok=True)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
