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

from mmengine.runner import Runner

import mmseg_ext  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_ext.utils.launch import add_common_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a multi-label segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', action='store_true', default=False,
                        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic mixed precision training')
    add_common_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    cfg.resume = args.resume or cfg.get('resume', False)
    os.makedirs(cfg.work_dir, exist_ok=True)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
