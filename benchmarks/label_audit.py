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
count against it); *named* when the image's most suspicious pair is an affected bone;
*kind ok* when that pair is flagged with the injected kind (a swap with the other bone as
its partner). ``--speed`` times the audit of one 2048² image instead.

    python benchmarks/label_audit.py --work-dir work_dirs/label_audit [--ids 200]
        [--size 512] [--per-kind 20] [--folds 2] [--iters 600]
    python benchmarks/label_audit.py --speed
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Tuple

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


def audit(work_dir: str, data_root: str, out_dir: str, labels_only: bool) -> float:
    """Run ``tools/audit_labels.py``; return its wall time (s)."""
    args = ['--labels-only'] if labels_only else [work_dir]
    start = time.perf_counter()
    subprocess.run([sys.executable, 'tools/audit_labels.py', *args, '--data-root', data_root,
                    '--out-dir', out_dir, '--gallery', '30'],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_audit(out_dir: str, keys: Dict[str, str]) -> Dict[str, dict]:
    """Per image key: its score, whether flagged, and its top pair (class, kind, partner)."""
    images: Dict[str, dict] = {}
    with open(osp.join(out_dir, 'audit.csv')) as f:
        for row in csv.DictReader(f):
            key = keys[row['image']]
            entry = images.setdefault(key, dict(score=float(row['score']), flagged=False,
                                                top=(row['class'], row['kind'],
                                                     row['partner'])))
            entry['flagged'] |= bool(row['kind'])
    return images


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision, ties broken against)."""
    order = np.lexsort((positive, -scores))  # among equal scores, negatives first
    hits = positive[order].astype(float)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / max(hits.sum(), 1))


def fault_table(images: Dict[str, dict], faults: Dict[str, dict]) -> Tuple[List[list], dict]:
    """Rows (kind, faults, found in top 5 %, in top 10 %, named, kind right, flagged, median
    rank) and the summary (AP, clean flag rate)."""
    clean = np.array([v['score'] for k, v in images.items() if k not in faults])
    rows = []
    for kind in LABEL_FAULTS:
        keys = [k for k, f in faults.items() if f['kind'] == kind]
        ranks = np.array([(clean >= images[k]['score']).mean() for k in keys])
        named = [images[k]['top'][0] in faults[k]['classes'] for k in keys]
        right = [images[k]['flagged'] and images[k]['top'][1] == kind
                 and (kind != 'swap' or images[k]['top'][2] in faults[k]['classes'])
                 for k in keys]
        rows.append([kind, len(keys), (ranks <= 0.05).mean(), (ranks <= 0.10).mean(),
                     np.mean(named), np.mean(right),
                     np.mean([images[k]['flagged'] for k in keys]), float(np.median(ranks))])
    keys = sorted(images)
    scores = np.array([images[k]['score'] for k in keys])
    positive = np.array([k in faults for k in keys])
    summary = dict(ap=average_precision(scores, positive),
                   ap_per_kind={kind: average_precision(
                       scores[~positive | np.array([faults.get(k, {}).get('kind') == kind
                                                    for k in keys])],
                       positive[~positive | np.array([faults.get(k, {}).get('kind') == kind
                                                      for k in keys])])
                       for kind in LABEL_FAULTS},
                   clean_flagged=float(np.mean([images[k]['flagged'] for k in keys
                                                if k not in faults])))
    return rows, summary


def print_table(title: str, rows: List[list], summary: dict) -> None:
    print(f'\n{title}')
    print(f'{"fault":<9} {"n":>3} {"top 5%":>7} {"top 10%":>8} {"named":>6} {"kind ok":>8} '
          f'{"flagged":>8} {"median rank":>12} {"PR-AUC vs clean":>16}')
    for kind, n, top5, top10, named, right, flagged, rank in rows:
        print(f'{kind:<9} {n:>3} {top5:>7.0%} {top10:>8.0%} {named:>6.0%} {right:>8.0%} '
              f'{flagged:>8.0%} {rank:>12.1%} {summary["ap_per_kind"][kind]:>16.3f}')
    print(f'PR-AUC (all faults vs clean images): {summary["ap"]:.3f}; images without a fault '
          f'flagged: {summary["clean_flagged"]:.1%}')


def speed(views: int) -> float:
    """Seconds to measure one 2048² phantom against an OOF file of ``views`` views of 29 x
    256² logits (a 1024-input config's; 6 with --tta), best of 3."""
    import tempfile

    import torch

    from benchmarks.common import best_of, bone_logits
    from mmseg_ext.evaluation.label_audit import (AuditInput, audit_inputs, audit_planes,
                                                  measure_image)
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.oof_file import OofRecord, write_oof_file
    from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews
    root = tempfile.mkdtemp()
    make_phantoms(root, num_ids=1, size=2048, seed=3, num_test_ids=1)
    item = audit_inputs(osp.join(root, 'train'))[0][0]
    labels, _ = audit_planes(item, HAND_BONE_CLASSES, 256)
    logits = bone_logits(torch.from_numpy(labels), seed=0)
    raw = RawViews((2048, 2048), views=[RawView(logits, (1024, 1024), {})] * views)
    path = osp.join(root, 'oof.npz')
    write_oof_file(path, OofRecord(item.key, item.name, 0, 'ckpt.pth', views > 1,
                                   list(HAND_BONE_CLASSES), raw))
    with_oof = AuditInput(item.key, item.name, item.image_path, item.json_path, item.shape,
                          path)
    return best_of(lambda: measure_image(with_oof, HAND_BONE_CLASSES), 3)


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
    parser.add_argument('--speed', action='store_true',
                        help='only time the audit of one 2048² image (no training)')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.speed:
        for views in (1, 6):
            seconds = speed(views)
            print(f'audit of one 2048² image, OOF file of {views} view(s) of 29 x 256² logits: '
                  f'{seconds:.2f} s ({seconds * 800 / 60:.1f} min for 800 images)')
        return
    root = osp.abspath(args.work_dir)
    faults = make_data(osp.join(root, 'data'), args.ids, args.size, args.per_kind, args.seed)
    print(f'{len(faults)} faulty images of {2 * args.ids}')
    for name in ('faulty', 'clean'):
        train(osp.join(root, 'data', name, 'train'), osp.join(root, name), args.folds,
              args.iters)
    if args.train_only:
        return
    names = {}
    for folder in os.listdir(osp.join(root, 'data', 'clean', 'train', 'DCM')):
        for name in os.listdir(osp.join(root, 'data', 'clean', 'train', 'DCM', folder)):
            names[name] = f'{folder}/{osp.splitext(name)[0]}'
    for evidence, labels_only in (('out-of-fold predictions + anatomy', False),
                                  ('labels only (--labels-only)', True)):
        results = {}
        for name in ('faulty', 'clean'):
            out_dir = osp.join(root, 'audit' + ('_labels_only' if labels_only else ''), name)
            seconds = audit(osp.join(root, name), osp.join(root, 'data', name, 'train'),
                            out_dir, labels_only)
            results[name] = read_audit(out_dir, names)
            print(f'{evidence}, {name} set: {seconds:.0f} s for {len(results[name])} images '
                  f'({out_dir})')
        rows, summary = fault_table(results['faulty'], faults)
        clean_run = np.mean([v['flagged'] for v in results['clean'].values()])
        print_table(f'{evidence}: {len(faults)} faulty of {len(results["faulty"])} images, '
                    f'{args.folds} folds x {args.iters} iterations', rows, summary)
        print(f'set with no fault injected (its own folds): {clean_run:.1%} of '
              f'{len(results["clean"])} images flagged')


if __name__ == '__main__':
    main()
