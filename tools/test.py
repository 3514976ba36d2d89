"""Test a checkpoint, optionally writing a submission CSV.

``python tools/test.py CONFIG CKPT [--data-root DIR] [--submission out.csv] [--thresholds t.json]
[--tta]``
Same arguments as mmseg's tools/test.py otherwise.
"""
import argparse
import logging
import sys

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmseg_ext  # noqa: F401  (registers components, safe checkpoint loading)
from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.formats.thresholds_json import load_thresholds
from mmseg_ext.utils.postprocessing.mask_rule import mask_rule_for
from mmseg_ext.utils.runtime.device_report import check_expected_device
from mmseg_ext.utils.runtime.launch import (add_common_args, add_data_args,
                                            check_checkpoint_readable, load_config,
                                            predicted_classes)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and submit) a multi-label segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', help='folder: one <image>.npz of packed masks per image, '
                        'written as predicted (read back: '
                        'mmseg_ext.utils.formats.mask_file.load_mask_file)')
    parser.add_argument('--out', dest='out_dir', help=argparse.SUPPRESS)  # mmseg's name
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--submission', help='write the competition CSV to this path')
    parser.add_argument('--thresholds', help="JSON {class: threshold}; default the config's "
                        'test_cfg.threshold, else 0.5')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--allow-training-images', action='store_true',
                        help='score a labelled test set even where the checkpoint trained on '
                        'its images (its recorded split); the score is then no validation score')
    add_data_args(parser, training=False)
    add_common_args(parser)
    return parser.parse_args()


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Draw every test image (MultiLabelVisualizationHook: all classes, overlaps mixed)."""
    hook = cfg.default_hooks.visualization
    hook['draw'] = True
    hook['interval'] = 1
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir


def main() -> None:
    args = parse_args()
    # What can be wrong before inference fails now: checkpoint, output path, thresholds
    # (and, when the runner builds the test set, duplicate image names).
    check_checkpoint_readable(args.checkpoint)
    if args.submission:
        check_writable(args.submission)
    cfg = load_config(args, training=False)
    check_expected_device(cfg.get('expected_device', 'cpu'))
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.thresholds:
        thresholds = load_thresholds(args.thresholds, predicted_classes(cfg))
        cfg.model.test_cfg['threshold'] = mask_rule_for(cfg.model.test_cfg, thresholds).threshold
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.submission:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SubmissionHook', out_file=args.submission)]
    if args.out_dir:
        cfg.test_evaluator = [cfg.test_evaluator] if cfg.get('test_evaluator') else []
        cfg.test_evaluator.append(dict(type='MaskDump', out_dir=args.out_dir))
    if not args.allow_training_images:
        check_scored_images(cfg, args.checkpoint)
    runner = Runner.from_cfg(cfg)
    runner.test()


def check_scored_images(cfg: Config, checkpoint: str) -> None:
    """A labelled test set (scored) must not hold images the checkpoint trained on (its
    recorded split; ``--allow-training-images`` skips this); a checkpoint without a recorded
    split gets a warning."""
    dataset = cfg.test_dataloader.dataset
    if dataset.get('test_mode', False) or dataset.get('type') != 'HandBoneDataset':
        return
    from mmseg_ext.apis.oof import (SplitLeakError, UnknownSplitError, check_not_trained_on,
                                    dataset_keys)
    try:
        check_not_trained_on(checkpoint, dataset_keys(dataset), 'scored test')
    except UnknownSplitError as err:
        print_log(str(err), logger='current', level=logging.WARNING)
    except SplitLeakError as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
