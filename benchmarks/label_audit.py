"""The label audit on injected label faults: found, named and ranked per fault kind, the
area under the precision-recall curve, and the flag rate on a set with no fault.

Phantom training images (``--ids`` IDs, 2 images each, ``--size`` px) are written twice:
clean, and with one label fault on each of ``--per-kind`` images per kind (two
neighbouring finger labels swapped, a bone dropped, a spurious disc under a bone's name,
a bone shifted 15 px and an outline moved 8-10 px, both at 2048² scale). The folds of the
demo config are trained on each set (``tools/kfold.py``, resumable), then
``tools/audit_labels.py`` audits each.

A fault is *found* at p % when its image scores above all but p % of the images without a
fault (its rank among them; the ranking of many faulty images among each other does not
count against it), *named* when the image's top pair is an affected bone (for a swap, with
the other bone as its partner).

    python benchmarks/label_audit.py --work-dir work_dirs/label_audit [--ids 200]
        [--size 512] [--per-kind 20] [--folds 2] [--iters 600]
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from typing import Dict, List

import numpy as np

from mmseg_ext.datasets.phantom_faults import LABEL_FAULTS, inject_label_fault
from mmseg_ext.datasets.phantoms import make_phantoms
from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')


def make_data(root: str, ids: int, size: int, per_kind: int, seed: int) -> Dict[str, dict]:
    """``root/clean`` and ``root/faulty`` training sets; the faults, by image key (also in
    ``root/faults.json``)."""
    manifest = osp.join(root, 'faults.json')
    if osp.exists(manifest):
        with open(manifest) as f:
            return json.load(f)
    clean = osp.join(root, 'clean')
    make_phantoms(clean, num_ids=ids, size=size, seed=seed, num_test_ids=1)
    shutil.rmtree(osp.join(clean, 'test'))
    faulty = osp.join(root, 'faulty')
    shutil.copytree(osp.join(clean, 'train'), osp.join(faulty, 'train'))
    ann_dir = osp.join(faulty, 'train', 'outputs_json')
    keys = sorted(osp.join(d, f[:-len('.json')]) for d in os.listdir(ann_dir)
                  for f in os.listdir(osp.join(ann_dir, d)))
    rng = np.random.default_rng(seed + 1)
    chosen = rng.permutation(len(keys))[:per_kind * len(LABEL_FAULTS)]
    faults = {}
    for n, index in enumerate(chosen):
        kind = LABEL_FAULTS[n % len(LABEL_FAULTS)]
        path = osp.join(ann_dir, keys[index] + '.json')
        with open(path) as f:
            annotations = json.load(f)['annotations']
        annotations, affected = inject_label_fault(annotations, kind, size, rng)
        atomic_write_bytes(json.dumps({'annotations': annotations}).encode(), path)
        faults[keys[index]] = dict(kind=kind, classes=list(affected))
    atomic_write_bytes(json.dumps(faults, indent=1).encode(), manifest)
    return faults


def train(data_root: str, work_dir: str, folds: int, iters: int) -> None:
    """The folds of the demo config on ``data_root`` (resumes an unfinished run)."""
    subprocess.run([sys.executable, 'tools/kfold.py', CONFIG, '--data-root', data_root,
                    '--folds', str(folds), '--work-dir', work_dir, '--device', 'cpu',
                    '--cfg-options', f'train_cfg.max_iters={iters}',
                    f'train_cfg.val_interval={iters}',
                    f'default_hooks.checkpoint.interval={iters // 4}'],
                   cwd=ROOT, check=True)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/label_audit')
    parser.add_argument('--ids', type=int, default=200)
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--per-kind', type=int, default=20)
    parser.add_argument('--folds', type=int, default=2)
    parser.add_argument('--iters', type=int, default=600)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train-only', action='store_true')
    return parser.parse_args()


def main():
    args = parse_args()
    root = osp.abspath(args.work_dir)
    faults = make_data(osp.join(root, 'data'), args.ids, args.size, args.per_kind, args.seed)
    print(f'{len(faults)} faulty images of {2 * args.ids}')
    for name in ('faulty', 'clean'):
        train(osp.join(root, 'data', name, 'train'), osp.join(root, name), args.folds,
              args.iters)
    if args.train_only:
        return


if __name__ == '__main__':
    main()
