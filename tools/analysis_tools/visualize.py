"""Prediction (and ground-truth) overlays with per-class Dice.

``python tools/analysis_tools/visualize.py CONFIG CKPT --out-dir D [--split val|test] [--num N]``
Writes ``<image>.png`` (ground truth | prediction side by side when labels
exist) and ``dice.csv`` (Dice per image and class).
"""
import argparse
import csv
import os
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

from mmseg_ext.apis import init_model_and_dataset
from mmseg_ext.evaluation.metrics.dice_metric import dice_counts, dice_from_counts
from mmseg_ext.utils.bitmask import unpack_bits
from mmseg_ext.utils.xray_io import read_xray
from mmseg_ext.visualization import overlay_masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', default='work_dirs/vis')
    parser.add_argument('--split', choices=['val', 'test'], default='val')
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    model, dataset = init_model_and_dataset(args.config, args.checkpoint, args.split,
                                            device=args.device, cfg_options=args.cfg_options)
    classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
    os.makedirs(args.out_dir, exist_ok=True)
    rows = []
    for i in range(min(args.num, len(dataset))):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        image = read_xray(sample.img_path)
        pred = sample.pred_sem_seg.data.cpu()
        panels = [overlay_masks(image, pred.numpy(), palette)]
        if 'gt_sem_seg' in sample:
            gt = unpack_bits(sample.gt_sem_seg.data[0].cpu(), len(classes))
            panels.insert(0, overlay_masks(image, gt.numpy(), palette))
            dice = dice_from_counts(dice_counts(pred, gt))
            rows.append([osp.basename(sample.img_path)] + [f'{d:.4f}' for d in dice])
            print(f'{osp.basename(sample.img_path)}: mean Dice {dice.mean():.4f}, lowest '
                  f'{classes[int(np.argmin(dice))]} {dice.min():.4f}')
        name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
        cv2.imwrite(osp.join(args.out_dir, name), np.concatenate(panels, axis=1)[..., ::-1])
    if rows:
        with open(osp.join(args.out_dir, 'dice.csv'), 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['image_name'] + list(classes))
            writer.writerows(rows)
    print(f'wrote {min(args.num, len(dataset))} overlays to {args.out_dir}')


if __name__ == '__main__':
    main()
