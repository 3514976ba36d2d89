"""Save PNG overlays of image + coloured masks after a config's train pipeline.

``python tools/analysis_tools/browse_dataset.py CONFIG [--data-root DIR] --out-dir DIR [--num N]``
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmseg_ext  # noqa: F401
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.runtime.launch import read_config
from mmseg_ext.utils.runtime.progress import track
from mmseg_ext.visualization import overlay_masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--data-root', help="training data root (default: the config's)")
    parser.add_argument('--out-dir', default='work_dirs/browse', help='folder for the PNG overlays')
    parser.add_argument('--output-dir', dest='out_dir', help=argparse.SUPPRESS)
    parser.add_argument('--num', type=int, default=8, help='number of samples')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = read_config(args.config, args.cfg_options, data_root=args.data_root)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    palette = dataset.metainfo['palette']
    os.makedirs(args.out_dir, exist_ok=True)
    for i in track(range(min(args.num, len(dataset))), what='samples'):
        sample = dataset[i]
        img = sample['inputs'].permute(1, 2, 0).numpy().astype(np.uint8)
        bits = sample['data_samples'].gt_sem_seg.data[0].numpy()
        masks = unpack_bits(bits, len(palette))
        rgb = overlay_masks(img, masks, palette)
        name = osp.splitext(osp.basename(sample['data_samples'].img_path))[0]
        cv2.imwrite(osp.join(args.out_dir, f'{i:03d}_{name}.png'), rgb[..., ::-1])
    print(f'saved {min(args.num, len(dataset))} overlays to {args.out_dir}')


if __name__ == '__main__':
    main()
