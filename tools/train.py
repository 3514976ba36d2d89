"""Train a segmentor: ``python tools/train.py CONFIG [--data-root DIR] [--fold K] [--folds N]
[--split-file SPLITS.json] [--work-dir D] [--resume] [--amp]``.

Same arguments as mmseg's tools/train.py; also works without a GPU
(``--launcher pytorch`` then uses gloo).
"""
import argparse
import logging
import os

import torch
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmseg_ext  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_ext.utils.runtime.device_report import check_amp_dtype, check_expected_device
from mmseg_ext.utils.runtime.launch import add_common_args, add_data_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a multi-label segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', action='store_true', default=False,
                        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='automatic mixed precision training (GPU; ignored on a CPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype with --amp (bfloat16 needs no loss scaling)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly with the total batch '
                        '(auto_scale_lr.base_batch_size in the config)')
    add_data_args(parser, training=True)
    add_common_args(parser)
    return parser.parse_args()


def enable_amp(cfg, dtype: str) -> None:
    """mmengine's AmpOptimWrapper (it needs a GPU: on a CPU, warn and train in float32).

    The losses sum in float32 and BCE runs in float32 whatever the autocast
    dtype; prediction thresholds float32 probabilities. bfloat16 on a GPU
    without bfloat16 units (capability < 8.0) is refused.
    """
    if not torch.cuda.is_available():
        print_log('--amp needs a GPU; training in float32 on the CPU', logger='current',
                  level=logging.WARNING)
        return
    check_amp_dtype(dtype)
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.dtype = dtype
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic' if dtype == 'float16' else 1.0)


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    check_expected_device(cfg.get('expected_device', 'cpu'))
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg.resume = args.resume or cfg.get('resume', False)
    os.makedirs(cfg.work_dir, exist_ok=True)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
