"""``tools/find_best.py``'s search on out-of-fold files: seconds per image for 2
configurations x 5 folds at 2048², side by side with the full-plane reference; and the
size of an out-of-fold file.

Ours: :func:`~mmseg_ext.evaluation.oof_search.image_counts` (every weighting x threshold
counted on each class's box, from one bucketing). Reference: what a hand-written search
does, for each weighting the (C, H, W) mean probabilities at the original size
(:func:`~mmseg_ext.utils.postprocessing.box_merge.dense_mean`), thresholded and counted for
each threshold. Both start from the same stored views (network-size logits, here
bone-shaped logits of phantom hands, ``benchmarks.common.bone_logits``), so the reading and
the resize to the test size are in both. Also timed: the whole ``find_best`` (both passes:
the counts, then the cleanup variants) per image. The counts of both paths are compared.

    python benchmarks/find_best.py [--images 10] [--size 2048] [--input 1024] [--net 256]
        [--reference-images 2]
"""
import argparse
import os
import os.path as osp
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import bone_logits
from mmseg_ext.datasets.folds import group_kfold_assignment
from mmseg_ext.datasets.phantoms import make_phantoms
from mmseg_ext.evaluation.find_best import find_best, image_stacks
from mmseg_ext.evaluation.oof_run import load_oof_run
from mmseg_ext.evaluation.oof_search import image_counts, weight_grid
from mmseg_ext.evaluation.submission_eval import ground_truth_bits, labelled_images
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.file_scan import scan_files
from mmseg_ext.utils.formats.fold_result import FoldResult, write_fold_result
from mmseg_ext.utils.formats.oof_file import OofRecord, oof_path, write_oof_file
from mmseg_ext.utils.masks.mask_sources import PackedMasks
from mmseg_ext.utils.postprocessing.box_merge import dense_mean
from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews

THRESHOLDS = [round(t, 2) for t in np.arange(0.1, 0.91, 0.05)]
NUM_CLASSES = len(HAND_BONE_CLASSES)


def write_runs(data_root: str, work: str, configs: int, folds: int, input_size: int,
               net: int) -> list:
    """``configs`` fake k-fold work dirs: fold results and out-of-fold files whose logits
    are each image's bones at the network size (a different seed per configuration)."""
    labelled = labelled_images(data_root)
    keys = sorted(osp.splitext(p)[0] for p in scan_files(osp.join(data_root, 'DCM'),
                                                         ('.png', )))
    fold_of = group_kfold_assignment([k.split('/')[0] for k in keys], folds)
    dirs = []
    for k in range(configs):
        run_dir = osp.join(work, f'config{k}')
        config = osp.join(run_dir, 'config.py')
        os.makedirs(run_dir, exist_ok=True)
        with open(config, 'w') as f:
            f.write('model = dict(test_cfg=dict(threshold=0.5))\n')
        for fold in range(folds):
            checkpoint = osp.join(run_dir, f'fold{fold}', 'best.pth')
            write_fold_result(osp.dirname(checkpoint), FoldResult(fold, folds, data_root,
                                                                  config, checkpoint))
            val = [key for key in keys if fold_of[key.split('/')[0]] == fold]
            train = [key for key in keys if fold_of[key.split('/')[0]] != fold]
            torch.save({'meta': {'split': dict(train=train, val=val)}}, checkpoint)
        for i, key in enumerate(keys):
            name = osp.basename(key) + '.png'
            bits = ground_truth_bits(labelled[name], NUM_CLASSES)
            planes = torch.from_numpy(((bits[None] >> np.arange(NUM_CLASSES)[:, None, None])
                                       & 1).astype(np.float32))
            low = F.interpolate(planes[None], size=(net, net), mode='area')[0] > 0.5
            logits = bone_logits(low, seed=1000 * k + i, noise=1.0)
            raw = RawViews(tuple(bits.shape), views=[RawView(logits, (input_size, input_size))])
            fold = fold_of[key.split('/')[0]]
            write_oof_file(oof_path(osp.join(run_dir, f'fold{fold}', 'oof'), key),
                           OofRecord(key, name, fold, 'best.pth', False,
                                     list(HAND_BONE_CLASSES), raw))
        dirs.append(run_dir)
    return dirs


def reference_counts(stacks, weights, gt_bits) -> np.ndarray:
    """(E, T, 3, C) counts through full-size mean probabilities, the ground truth unpacked
    once, each threshold counted over all classes at once."""
    gt = torch.from_numpy(((gt_bits[None] >> np.arange(NUM_CLASSES)[:, None, None]) & 1)
                          .astype(bool))
    out = np.zeros((len(weights), len(THRESHOLDS), 3, NUM_CLASSES), np.int64)
    out[:, :, 2] = gt.sum(dim=(1, 2)).numpy()
    for e, row in enumerate(weights):
        used = [k for k in range(len(stacks)) if row[k]]
        mean = dense_mean([stacks[k] for k in used], [float(row[k]) for k in used])
        for t, threshold in enumerate(THRESHOLDS):
            passed = mean > np.float32(threshold)
            out[e, t, 0] = (passed & gt).sum(dim=(1, 2)).numpy()
            out[e, t, 1] = passed.sum(dim=(1, 2)).numpy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=10, help='training images (even)')
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--input', type=int, default=1024, help='network input (test) size')
    parser.add_argument('--net', type=int, default=256, help='network output size')
    parser.add_argument('--reference-images', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        make_phantoms(tmp, num_ids=args.images // 2, size=args.size, seed=0, num_test_ids=0)
        data_root = osp.join(tmp, 'train')
        runs = [load_oof_run(d) for d in write_runs(data_root, osp.join(tmp, 'work'), 2, 5,
                                                    args.input, args.net)]
        size = os.path.getsize(runs[0].path(runs[0].keys[0]))
        weights = weight_grid(2, 0.25)
        labelled = labelled_images(data_root)
        ours_s = ref_s = 0.0
        for key in runs[0].keys[:args.reference_images]:
            bits = ground_truth_bits(labelled[runs[0].image_names[key]], NUM_CLASSES)
            start = time.perf_counter()
            ours = image_counts(image_stacks(runs, key), weights, THRESHOLDS,
                                PackedMasks(bits))
            ours_s += time.perf_counter() - start
            start = time.perf_counter()
            ref = reference_counts(image_stacks(runs, key), weights, bits)
            ref_s += time.perf_counter() - start
            differ = int(np.abs(ours - ref).sum())
            print(f'{key}: counts differing between the paths: {differ} pixel(s)')
        n = args.reference_images
        print(f'counts of one image, {len(weights)} weightings x {len(THRESHOLDS)} thresholds, '
              f'2 configurations, {args.size}²: ours {ours_s / n:.2f} s, full-plane reference '
              f'{ref_s / n:.2f} s: {ref_s / ours_s:.1f}x')
        start = time.perf_counter()
        find_best(runs, data_root)
        whole = time.perf_counter() - start
        print(f'find_best, 2 configurations x 5 folds, {len(runs[0].keys)} images at '
              f'{args.size}² (counts, nested CV, cleanup pass): {whole / len(runs[0].keys):.2f} '
              f's per image')
        tta = sum((int(args.net * r) ** 2) * 2 for r in (0.75, 1.0, 1.25)) * NUM_CLASSES * 2
        print(f'out-of-fold file: {size / 2**20:.2f} MiB per image ({NUM_CLASSES} x '
              f'{args.net}² float16), {size * 800 / 2**30:.2f} GiB for 800 images; with the '
              f'base config\'s TTA (3 scales x 2 flips) ~{tta / 2**20:.1f} MiB per image, '
              f'{tta * 800 / 2**30:.1f} GiB for 800')


if __name__ == '__main__':
    main()
