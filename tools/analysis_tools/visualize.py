"""Prediction (and ground-truth) overlays with per-class Dice and mean HD95.

``python tools/analysis_tools/visualize.py CONFIG CKPT --out-dir D [--split val|test] [--num N]``
Writes ``<image>.png`` (titled panels: ground truth | prediction | errors (false
positives red, false negatives blue) when labels exist, the image's mean Dice and HD95
(pixels) in the prediction's title, and a class legend with its per-class Dice; with
``--priors``, anatomical findings outlined on the prediction) and ``dice.csv`` (Dice per
image and class).
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
from mmseg_ext.evaluation.anatomy import AnatomyPriors, check_masks
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.runtime.progress import track
from mmseg_ext.visualization import masks_figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', default='work_dirs/vis')
    parser.add_argument('--split', choices=['val', 'test'], default='val')
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--priors', help='anatomy priors JSON: outline anatomical findings')
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--data-root', help='data of --split: training data root (val, with '
                        '--fold/--folds) or test images root (test); default the config\'s')
    parser.add_argument('--fold', type=int, help='validation fold (GroupKFold by IDxxx)')
    parser.add_argument('--folds', type=int, help='number of folds')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    data = dict(test_root=args.data_root) if args.split == 'test' else \
        dict(data_root=args.data_root, fold=args.fold, num_folds=args.folds)
    model, dataset = init_model_and_dataset(args.config, args.checkpoint, args.split,
                                            device=args.device, cfg_options=args.cfg_options,
                                            **data)
    classes, palette = dataset.metainfo['classes'], dataset.metainfo['palette']
    os.makedirs(args.out_dir, exist_ok=True)
    priors = AnatomyPriors.load(args.priors) if args.priors else None
    rows = []
    for i in track(range(min(args.num, len(dataset))), what='images'):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        image = read_xray(sample.img_path)
        pred = sample.pred_sem_seg.data.cpu()
        name = osp.basename(sample.img_path)
        findings = check_masks(pred.numpy(), priors) if priors else []
        gt = unpack_bits(sample.gt_sem_seg.data[0].cpu(), len(classes)) \
            if 'gt_sem_seg' in sample else None
        figure, dice, hd95 = masks_figure(image, pred, gt, classes, palette, name, findings)
        if dice is not None:
            rows.append([name] + [f'{d:.4f}' for d in dice])
            print(f'{name}: mean Dice {dice.mean():.4f}, mean HD95 {np.nanmean(hd95):.2f} px, '
                  f'lowest {classes[int(np.argmin(dice))]} {dice.min():.4f}')
        cv2.imwrite(osp.join(args.out_dir, osp.splitext(name)[0] + '.png'), figure[..., ::-1])
    if rows:
        with open(osp.join(args.out_dir, 'dice.csv'), 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['image_name'] + list(classes))
            writer.writerows(rows)
    print(f'wrote {min(args.num, len(dataset))} overlays to {args.out_dir}')


if __name__ == '__main__':
    main()
