"""Boundary metrics of 29 classes at 2048²: ours against MONAI, and their cost in validation.

monai: the masks are a phantom hand's 29 bones (ground truth) and a perturbed copy
(prediction): bones shifted by a few pixels, dilated, eroded, one with a
spur, one missed and one hallucinated. Ours: one
``boundary_metrics(pred, gt)`` call (HD, HD95, ASSD, NSD together). MONAI:
``compute_hausdorff_distance`` (max and 95th percentile),
``compute_average_surface_distance(symmetric=True)`` and
``compute_surface_dice``, the four calls that give the same values (run
once: they take seconds), and MONAI's HD95 call alone. The finite values of
both are compared too.

validation: the demo HRNet (random weights; its val pipeline: 256 input, masks at the
original size) validates phantom images: per image, loading and rasterising, ``val_step``
and ``DiceMetric.process`` (the validation pass as configured), then
``BoundaryMetric.process`` on the same outputs. Random weights predict arbitrary masks, so
the metric is also timed with the ground truth as the prediction (masks shaped like a
trained model's).

    python benchmarks/boundary_metrics.py [--parts monai validation] [--size 2048]
        [--repeats 3] [--images 2]
"""
import argparse
import os.path as osp
import shutil
import tempfile
import time
import warnings

import cv2
import numpy as np
import torch

from benchmarks.common import DEMO_CONFIG, best_of


def phantom_pair(size: int, seed: int = 0):
    """(29, size, size) bool prediction and ground truth of a phantom hand."""
    from mmseg_ext.datasets.phantoms import _pose, hand_bones
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    rng = np.random.default_rng(seed)
    bones = _pose(hand_bones(rng), rng, left=False)
    gt = np.zeros((len(HAND_BONE_CLASSES), size, size), bool)
    pred = np.zeros_like(gt)
    kernel = np.ones((3, 3), np.uint8)
    for c, name in enumerate(HAND_BONE_CLASSES):
        plane = np.zeros((size, size), np.uint8)
        cv2.fillPoly(plane, [np.rint(np.clip(bones[name] * size, 0, size - 1)).astype(np.int32)],
                     1)
        gt[c] = plane > 0
        kind = c % 4
        if kind == 0:
            plane = np.roll(plane, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), (0, 1))
        elif kind == 1:
            plane = cv2.dilate(plane, kernel, iterations=3)
        elif kind == 2:
            plane = cv2.erode(plane, kernel, iterations=2)
        else:
            ys, xs = np.nonzero(plane)
            cv2.line(plane, (int(xs[0]), int(ys[0])), (int(xs[0]) + 40, int(ys[0]) - 60), 1, 2)
        pred[c] = plane > 0
    pred[5] = False  # a miss
    gt[27] = False  # a hallucination: the Radius predicted, not labelled
    return pred, gt


def monai_metrics(pred: np.ndarray, gt: np.ndarray, tol: float) -> dict:
    """MONAI's four metrics of the same masks."""
    from monai.metrics import (compute_average_surface_distance, compute_hausdorff_distance,
                               compute_surface_dice)
    y_pred, y = torch.from_numpy(pred[None]).float(), torch.from_numpy(gt[None]).float()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return {
            'hd': compute_hausdorff_distance(y_pred, y, include_background=True)[0],
            'hd95': compute_hausdorff_distance(y_pred, y, include_background=True,
                                               percentile=95)[0],
            'assd': compute_average_surface_distance(y_pred, y, include_background=True,
                                                     symmetric=True)[0],
            'nsd': compute_surface_dice(y_pred, y, class_thresholds=[tol] * pred.shape[0],
                                        include_background=True)[0],
        }


def monai_hd95(pred: np.ndarray, gt: np.ndarray) -> torch.Tensor:
    """MONAI's HD95 alone (one of the four calls)."""
    from monai.metrics import compute_hausdorff_distance
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return compute_hausdorff_distance(torch.from_numpy(pred[None]).float(),
                                          torch.from_numpy(gt[None]).float(),
                                          include_background=True, percentile=95)


def against_monai(args: argparse.Namespace) -> None:
    """Ours and MONAI on the same masks: values compared, seconds per image."""
    import monai

    from mmseg_ext.evaluation.boundary import BOUNDARY_KEYS, boundary_metrics
    pred, gt = phantom_pair(args.size)
    print(f'{pred.shape[0]} classes at {args.size}x{args.size}, torch threads '
          f'{torch.get_num_threads()}, cv2 threads {cv2.getNumThreads()}, '
          f'MONAI {monai.__version__}')
    ours = boundary_metrics(pred, gt, args.tolerance)
    start = time.perf_counter()
    oracle = {k: v.double().numpy() for k, v in monai_metrics(pred, gt, args.tolerance).items()}
    t_monai = time.perf_counter() - start
    t_ours = best_of(lambda: boundary_metrics(pred, gt, args.tolerance), args.repeats)
    start = time.perf_counter()
    monai_hd95(pred, gt)
    t_hd95 = time.perf_counter() - start
    for key in BOUNDARY_KEYS:
        finite = np.isfinite(oracle[key])
        diff = float(np.abs(ours[key][finite] - oracle[key][finite]).max(initial=0))
        print(f'{key}: {int(finite.sum())} finite values compared, largest difference {diff:.2e}')
    print(f'ours (all four metrics): {t_ours:.3f} s per image (best of {args.repeats})')
    print(f'MONAI (all four metrics, four calls): {t_monai:.3f} s per image; ratio '
          f'{t_monai / t_ours:.1f}x')
    print(f'MONAI (HD95 alone, one call): {t_hd95:.3f} s per image; ratio '
          f'{t_hd95 / t_ours:.1f}x')


def validation_steps(data_root: str, pipeline: list, count: int):
    """``count`` validation steps over the images of ``data_root`` (in turn): each step's
    collated batch and the model's outputs (the demo HRNet, random weights), with the
    seconds of loading, ``val_step`` and ``DiceMetric.process``."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmseg.registry import MODELS

    from mmseg_ext.datasets import HandBoneDataset
    from mmseg_ext.evaluation import DiceMetric
    model = MODELS.build(Config.fromfile(DEMO_CONFIG).model).eval()
    dataset = HandBoneDataset(data_root=data_root, pipeline=pipeline)
    dice = DiceMetric()
    dice.dataset_meta = dataset.metainfo
    for i in range(count):
        start = time.perf_counter()
        batch = pseudo_collate([dataset[i % len(dataset)]])
        with torch.no_grad():
            outputs = [o.to_dict() for o in model.val_step(batch)]
        dice.process(batch, outputs)
        yield batch, outputs, time.perf_counter() - start


def in_validation(args: argparse.Namespace) -> None:
    """Seconds of ``BoundaryMetric.process`` beside the validation step it joins."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmseg_ext.datasets.phantoms import make_phantoms
    from mmseg_ext.evaluation import BoundaryMetric
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.masks.bitmask import unpack_bits
    init_default_scope('mmseg')
    tmp = tempfile.mkdtemp(prefix='boundary_validation_')
    try:
        make_phantoms(tmp, num_ids=(args.images + 1) // 2, size=args.size, seed=0,
                      num_test_ids=0)
        boundary = BoundaryMetric()
        boundary.dataset_meta = {'classes': HAND_BONE_CLASSES}
        base, extra, extra_gt = [], [], []
        steps = validation_steps(osp.join(tmp, 'train'), Config.fromfile(DEMO_CONFIG)
                                 .val_pipeline, args.images + 1)  # the first is a warm-up
        for i, (batch, outputs, seconds) in enumerate(steps):
            t_model = best_of(lambda: boundary.process(batch, outputs), 1)
            bits = outputs[0]['gt_sem_seg']['data']
            as_gt = dict(outputs[0], pred_sem_seg=dict(data=unpack_bits(bits[0], 29)))
            t_gt = best_of(lambda: boundary.process(batch, [as_gt]), 1)
            if i:
                base.append(seconds)
                extra.append(t_model)
                extra_gt.append(t_gt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mean = lambda v: sum(v) / len(v)  # noqa: E731
    print(f'{len(base)} images of {args.size}x{args.size}, torch threads '
          f'{torch.get_num_threads()}')
    print(f'validation step (load, val_step, DiceMetric): {mean(base):.2f} s per image')
    print(f'BoundaryMetric.process, model output: {mean(extra):.3f} s per image '
          f'({100 * mean(extra) / mean(base):.1f} % of the validation step)')
    print(f'BoundaryMetric.process, ground truth as prediction: {mean(extra_gt):.3f} s per '
          f'image ({100 * mean(extra_gt) / mean(base):.1f} %)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--parts', nargs='+', default=['monai', 'validation'],
                        choices=['monai', 'validation'])
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--repeats', type=int, default=3, help='monai: timed calls of ours')
    parser.add_argument('--tolerance', type=float, default=2.0, help='monai: NSD tolerance')
    parser.add_argument('--images', type=int, default=2, help='validation: timed images')
    args = parser.parse_args()
    if 'monai' in args.parts:
        against_monai(args)
    if 'validation' in args.parts:
        in_validation(args)


if __name__ == '__main__':
    main()
