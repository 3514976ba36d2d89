"""Cost of BoundaryMetric in a validation pass at 2048², beside DiceMetric.

The demo HRNet (random weights; its val pipeline: 256 input, masks at the
original size) validates phantom images of 2048²: per image, loading and
rasterising, ``val_step`` and ``DiceMetric.process`` (the validation pass as
configured), then ``BoundaryMetric.process`` on the same outputs. Random
weights predict arbitrary masks, so the metric is also timed with the ground
truth as the prediction (masks shaped like a trained model's).

    python benchmarks/boundary_validation.py [--size 2048] [--images 2]
"""
import argparse
import os.path as osp
import shutil
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--images', type=int, default=2)
    args = parser.parse_args()
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_ext  # noqa: F401
    from mmseg_ext.datasets import HandBoneDataset
    from mmseg_ext.datasets.phantoms import make_phantoms
    from mmseg_ext.evaluation import BoundaryMetric, DiceMetric
    from mmseg_ext.utils.masks.bitmask import unpack_bits
    init_default_scope('mmseg')
    tmp = tempfile.mkdtemp(prefix='boundary_validation_')
    try:
        make_phantoms(tmp, num_ids=(args.images + 1) // 2, size=args.size, seed=0,
                      num_test_ids=1)
        cfg = Config.fromfile(CONFIG)
        model = MODELS.build(cfg.model).eval()
        dataset = HandBoneDataset(data_root=osp.join(tmp, 'train'), pipeline=cfg.val_pipeline)
        dice, boundary = DiceMetric(), BoundaryMetric()
        dice.dataset_meta = boundary.dataset_meta = dataset.metainfo
        base, extra, extra_gt = [], [], []
        for i in range(min(args.images, len(dataset)) + 1):  # the first is a warm-up
            start = time.perf_counter()
            batch = pseudo_collate([dataset[i % len(dataset)]])
            with torch.no_grad():
                outputs = [o.to_dict() for o in model.val_step(batch)]
            dice.process(batch, outputs)
            mid = time.perf_counter()
            boundary.process(batch, outputs)
            end = time.perf_counter()
            bits = outputs[0]['gt_sem_seg']['data']
            as_gt = dict(outputs[0], pred_sem_seg=dict(data=unpack_bits(bits[0], 29)))
            t0 = time.perf_counter()
            boundary.process(batch, [as_gt])
            t_gt = time.perf_counter() - t0
            if i:
                base.append(mid - start)
                extra.append(end - mid)
                extra_gt.append(t_gt)
        mean = lambda v: sum(v) / len(v)  # noqa: E731
        print(f'{len(base)} images of {args.size}x{args.size}, torch threads '
              f'{torch.get_num_threads()}')
        print(f'validation step (load, val_step, DiceMetric): {mean(base):.2f} s per image')
        print(f'BoundaryMetric.process, model output: {mean(extra):.3f} s per image '
              f'({100 * mean(extra) / mean(base):.1f} % of the validation step)')
        print(f'BoundaryMetric.process, ground truth as prediction: {mean(extra_gt):.3f} s per '
              f'image ({100 * mean(extra_gt) / mean(base):.1f} %)')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
