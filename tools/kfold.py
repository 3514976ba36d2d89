"""Train every fold of a config and report per-fold and mean Dice.

``python tools/kfold.py CONFIG --folds 5 [--work-dir work_dirs/kfold] [--cfg-options ...]``
Each fold trains in its own process (tools/train.py with ``fold=k``);
the best validation metrics are read from each run's scalars.json. Writes
``kfold_report.csv`` (Dice per class per fold), ``kfold_report.png`` (bar
chart) and ``best_checkpoints.txt`` (for tools/ensemble.py).
"""
import argparse
import csv
import glob
import json
import os.path as osp
import subprocess
import sys

import cv2

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.visualization import grouped_bar_chart


def best_val_metrics(work_dir: str) -> dict:
    """The validation entry with the highest mDice in the run's scalars.json files."""
    entries = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            entries += [e for e in map(json.loads, f) if 'mDice' in e]
    if not entries:
        raise RuntimeError(f'{work_dir}: no validation metrics found')
    return max(entries, key=lambda e: e['mDice'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--folds', type=int, default=5)
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args()
    work_root = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_kfold')
    train = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')
    results, checkpoints = {}, []
    for fold in range(args.folds):
        work_dir = osp.join(work_root, f'fold{fold}')
        options = [f'train_dataloader.dataset.fold={fold}',
                   f'val_dataloader.dataset.fold={fold}',
                   f'train_dataloader.dataset.num_folds={args.folds}',
                   f'val_dataloader.dataset.num_folds={args.folds}'] + args.cfg_options
        subprocess.run([sys.executable, train, args.config, '--work-dir', work_dir,
                        '--cfg-options', *options], check=True)
        results[f'fold{fold}'] = best_val_metrics(work_dir)
        best = sorted(glob.glob(osp.join(work_dir, 'best_mDice_*.pth')))
        checkpoints.append(best[-1] if best else osp.join(work_dir, 'last_checkpoint'))
        print(f'fold {fold}: best mDice {results[f"fold{fold}"]["mDice"]:.4f}')
    per_class = {k: [v.get(f'Dice.{c}', float('nan')) for c in HAND_BONE_CLASSES]
                 for k, v in results.items()}
    with open(osp.join(work_root, 'kfold_report.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class'] + list(per_class) + ['mean'])
        for i, c in enumerate(HAND_BONE_CLASSES):
            row = [per_class[k][i] for k in per_class]
            writer.writerow([c] + [f'{v:.4f}' for v in row] + [f'{sum(row) / len(row):.4f}'])
        means = [results[k]['mDice'] for k in per_class]
        writer.writerow(['mDice'] + [f'{v:.4f}' for v in means] + [f'{sum(means) / len(means):.4f}'])
    low = max(0.0, min(min(v) for v in per_class.values()) - 0.05)
    chart = grouped_bar_chart(per_class, HAND_BONE_CLASSES, 'Dice per class and fold', low=low)
    cv2.imwrite(osp.join(work_root, 'kfold_report.png'), chart)
    with open(osp.join(work_root, 'best_checkpoints.txt'), 'w') as f:
        f.write('\n'.join(checkpoints) + '\n')
    print(f'mean mDice over {args.folds} folds: {sum(means) / len(means):.4f}; '
          f'report in {work_root}')


if __name__ == '__main__':
    main()
