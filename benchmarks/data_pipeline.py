"""Training data pipeline throughput: ours against the reference team's approach.

Both read the same 2048² PNG + polygon JSON files in the same run.
Ours: the train pipeline of configs/_base_/datasets/hand_bone.py (uint8 grey
decode, 29 polygons into one int32 bit map, Resize to 1024, the default
augmentations, PackSegInputs). Reference, the approach of the team of
boostcampaitech8/pro-cv-semanticsegmentation-cv-11: cv2.imread -> float32/255 at full
size -> per-class fillPoly into an (H, W, 29) uint8 array -> albumentations-style
cv2.resize of image and mask to 1024.

    python benchmarks/data_pipeline.py [--num 4] [--size 2048] [--gpu-step-s 0.155 0.216]

Ours runs in one process, as one dataloader worker does: from its samples/s and a GPU's
seconds per training step (batch 2) it prints how many workers keep that GPU fed.
"""
import argparse
import json
import math
import os.path as osp
import tempfile

import cv2
import numpy as np

from benchmarks.common import ROOT, compare


def reference_sample(img_path: str, json_path: str, classes, size: int):
    """One training sample the reference team's way: (3, size, size) float32 image and
    (29, size, size) uint8 masks."""
    image = cv2.imread(img_path).astype(np.float32) / 255.0
    label = np.zeros(image.shape[:2] + (len(classes), ), dtype=np.uint8)
    with open(json_path) as f:
        annotations = json.load(f)['annotations']
    for ann in annotations:
        class_label = np.zeros(image.shape[:2], dtype=np.uint8)
        cv2.fillPoly(class_label, [np.array(ann['points'], dtype=np.int32)], 1)
        label[..., classes.index(ann['label'])] = class_label
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    label = cv2.resize(label, (size, size), interpolation=cv2.INTER_NEAREST)
    return image.transpose(2, 0, 1), label.transpose(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=4, help='images (2 per ID)')
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--gpu-step-s', type=float, nargs='*', default=[0.155, 0.216],
                        help='seconds per training step (batch 2) of the GPU to feed; default: '
                        'HRNet-W18 --amp bfloat16 / float16 on an H200 (README)')
    args = parser.parse_args()
    cv2.setNumThreads(1)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_ext  # noqa: F401
    from mmseg_ext.datasets.phantoms import make_phantoms
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    init_default_scope('mmseg')
    root = tempfile.mkdtemp()
    make_phantoms(root, num_ids=max(1, args.num // 2), size=args.size, seed=0, num_test_ids=0)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/hand_bone.py'))
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=osp.join(root, 'train'),
                                  fold=None))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    classes = list(HAND_BONE_CLASSES)

    def ours():
        for i in range(len(dataset)):
            dataset[i]

    def reference():
        for info in infos:
            reference_sample(info['img_path'], info['seg_map_path'], classes, 1024)

    result = compare(ours, reference, repeats=2, rounds=2)
    n = len(dataset)
    print(f'{n} samples of {args.size}², resize to 1024, 29 classes:')
    print(f'  ours {n / result["ours_s"]:.2f} samples/s, reference '
          f'{n / result["reference_s"]:.2f} samples/s, ratio {result["speedup"]:.2f}x (goal >= 2x)')
    per_worker = n / result['ours_s']
    batch = cfg.train_dataloader.batch_size
    for step_s in args.gpu_step_s:
        need = batch / step_s
        print(f'  a GPU step of {step_s:.3f} s at batch {batch} takes {need:.1f} samples/s: '
              f'{need / per_worker:.2f} workers at {per_worker:.1f} samples/s each '
              f'-> {math.ceil(need / per_worker)}')


if __name__ == '__main__':
    main()
