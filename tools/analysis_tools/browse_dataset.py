"""Save PNG overlays of image + coloured masks after a config's train pipeline.

``python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--num N]``
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mmseg_ext  # noqa: F401
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.visualization import overlay_masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--output-dir', default='work_dirs/browse')
    parser.add_argument('--num', type=int, default=8, help='number of samples')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    palette = dataset.metainfo['palette']
    os.makedirs(args.output_dir, exist_ok=True)
    for i in range(min(args.num, len(dataset))):
        sample = dataset[i]
        img = sample['inputs'].permute(1, 2, 0).numpy().astype(np.uint8)
        bits = sample['data_samples'].gt_sem_seg.data[0].numpy()
        masks = unpack_bits(bits, len(palette))
        rgb = overlay_masks(img, masks, palette)
        name = osp.splitext(osp.basename(sample['data_samples'].img_path))[0]
        cv2.imwrite(osp.join(args.output_dir, f'{i:03d}_{name}.png'), rgb[..., ::-1])
    print(f'saved {min(args.num, len(dataset))} overlays to {args.output_dir}')


if __name__ == '__main__':
    main()
