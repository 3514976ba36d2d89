"""Peak RSS of validation, ``tools/test.py --out-dir``, ``tools/predict.py`` and
``tools/evaluate.py`` at full size: what a step keeps, and what stays flat in the images.

Every figure is the peak RSS of a fresh process (``benchmarks.common.run_measured``); the
models are the demo HRNet with random weights, so what is measured is the full-size
(29, H, W) output path, not the network. Rows:

- validation: one 2048² image through ``val_step`` + ``DiceMetric.process`` after a warm-up;
  also the extra over the process just before the step;
- out: ``tools/test.py --out-dir``'s test loop over ``--out-images`` images: ``MaskDump``
  (each image's packed masks written as it is predicted) against mmengine's
  ``DumpResults`` (every sample kept to the end, then pickled), side by side;
- predict: ``tools/predict.py`` with K members on N images of ``--predict-size``:
  (1, 4), (3, 4), (3, 16);
- evaluate: ``tools/evaluate.py --out-dir`` on 4 and on ``--evaluate-images`` labelled
  images, against its imports alone (``--help``).

    python benchmarks/memory.py [--rows validation out predict evaluate] [--size 2048]
        [--out-images 20] [--predict-size 1024] [--evaluate-images 288]
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile

from benchmarks.common import (DEMO_CONFIG, current_rss_mb, random_checkpoint, report, run_child,
                               run_measured)

ROWS = ('validation', 'out', 'predict', 'evaluate')


def child_validation(data_root: str) -> None:
    """One image through ``val_step`` and ``DiceMetric.process``, after a warm-up."""
    import gc

    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    from mmseg_ext.datasets import HandBoneDataset
    from mmseg_ext.evaluation import DiceMetric
    init_default_scope('mmseg')
    cfg = Config.fromfile(DEMO_CONFIG)
    model = MODELS.build(cfg.model).eval()
    dataset = HandBoneDataset(data_root=data_root, pipeline=[])
    batch = pseudo_collate([Compose(cfg.val_pipeline)(dataset.get_data_info(0))])
    metric = DiceMetric()
    metric.dataset_meta = dataset.metainfo

    def step() -> None:
        with torch.no_grad():
            outputs = model.val_step(batch)
        metric.process(batch, [o.to_dict() for o in outputs])  # as mmengine's Evaluator

    step()  # warm-up: first-call caches (oneDNN, allocator) are not per-image memory
    gc.collect()
    before = current_rss_mb()
    step()
    report(before_mb=before)


def child_out(evaluator: str, data_root: str, out: str) -> None:
    """The stock Runner's test loop with ``MaskDump`` or ``DumpResults`` as the evaluator."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmseg_ext  # noqa: F401
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = osp.join(out, 'work')
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.log_level = 'WARNING'
    cfg.test_evaluator = dict(type='MaskDump', out_dir=out) if evaluator == 'MaskDump' else \
        dict(type='DumpResults', out_file_path=osp.join(out, 'preds.pkl'))
    runner = Runner.from_cfg(cfg)
    before = current_rss_mb()
    runner.test()
    report(before_mb=before)


def row_validation(args: argparse.Namespace, work: str) -> None:
    """Peak RSS of one image's validation step, and its extra over the process."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    make_phantoms(osp.join(work, 'val'), num_ids=1, size=args.size, seed=0, num_test_ids=0)
    r = run_child(__file__, 'validation', osp.join(work, 'val', 'train'))
    print(f'validation, one {args.size}² image: peak {r["peak_rss_mb"]:.0f} MB '
          f'({r["peak_rss_mb"] - r["before_mb"]:+.0f} over the process before the step)',
          flush=True)


def row_out(args: argparse.Namespace, work: str) -> None:
    """Peak RSS of the test loop with ``MaskDump`` and with ``DumpResults``."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = osp.join(work, 'out')
    make_phantoms(root, num_ids=0, size=args.size, seed=0, num_test_ids=(args.out_images + 1) // 2)
    print(f'tools/test.py --out-dir, {args.out_images} images of {args.size}²:')
    peaks = {}
    for evaluator in ('MaskDump', 'DumpResults'):
        r = run_child(__file__, 'out', evaluator, osp.join(root, 'test'),
                      tempfile.mkdtemp(dir=work))
        peaks[evaluator] = r['peak_rss_mb']
        print(f'  {evaluator:<11} peak {r["peak_rss_mb"]:7.0f} MB '
              f'({r["peak_rss_mb"] - r["before_mb"]:+.0f} over the process before the test loop)',
              flush=True)
    print(f'  DumpResults / MaskDump peak: {peaks["DumpResults"] / peaks["MaskDump"]:.2f}x')


def row_predict(args: argparse.Namespace, work: str) -> None:
    """Peak RSS of ``tools/predict.py`` for (K members, N images)."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    ckpt = random_checkpoint(DEMO_CONFIG, osp.join(work, 'random.pth'))
    print(f'tools/predict.py, images of {args.predict_size}²:')
    for k, n in [(1, 4), (3, 4), (3, 16)]:
        root = osp.join(work, f'predict{n}')
        if not osp.isdir(root):
            make_phantoms(root, num_ids=0, size=args.predict_size, seed=0, num_test_ids=n // 2)
        cmd = [sys.executable, 'tools/predict.py', '--image-root', osp.join(root, 'test', 'DCM'),
               '--submission', osp.join(work, f'predict_{k}_{n}.csv')]
        cmd += ['--model', f'{DEMO_CONFIG}:{ckpt}'] * k
        print(f'  K={k} members, N={n:>2} images: peak {run_measured(cmd)[1]:7.0f} MB',
              flush=True)


def evaluate_data(root: str, images: int, size: int, distinct: int = 4) -> str:
    """A labelled data root of ``images`` images (``distinct`` phantom hands, their files
    repeated under new names) and a submission of perturbed ground truth; returns its path."""
    import cv2
    import numpy as np

    from mmseg_ext.datasets.phantoms import encode_png, render_hand
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.rle import rle_encode_batch
    from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
    rng, index = np.random.default_rng(0), {c: i for i, c in enumerate(HAND_BONE_CLASSES)}
    hands = []
    for k in range(distinct):
        img, bones = render_hand(size, rng, left=bool(k % 2))
        ann = {'annotations': [{'label': label, 'points': np.round(pts, 1).tolist()}
                               for label, pts in bones.items()]}
        polygons = [(index[label], pts.astype(np.float32)) for label, pts in bones.items()]
        masks = unpack_bits(rasterize_bitmask(polygons, (size, size)), len(HAND_BONE_CLASSES))
        for c in range(masks.shape[0]):  # a prediction: dilated, some bones shifted
            plane = cv2.dilate(masks[c].astype(np.uint8), np.ones((3, 3), np.uint8))
            masks[c] = np.roll(plane, c % 3, axis=1) > 0
        hands.append((encode_png(img), json.dumps(ann).encode(), rle_encode_batch(masks)))
    os.makedirs(root, exist_ok=True)
    csv_path = osp.join(root, 'submission.csv')
    with open(csv_path, 'w') as f:
        f.write('image_name,class,rle\n')
        for i in range(images):
            png, ann, rles = hands[i % distinct]
            folder, stem = f'ID{i // 2:03d}', f'image{1661130828152 + i}'
            for sub, data, suffix in (('DCM', png, '.png'), ('outputs_json', ann, '.json')):
                os.makedirs(osp.join(root, sub, folder), exist_ok=True)
                with open(osp.join(root, sub, folder, stem + suffix), 'wb') as file:
                    file.write(data)
            for name, rle in zip(HAND_BONE_CLASSES, rles):
                f.write(f'{stem}.png,{name},{rle}\n')
    return csv_path


def first_images(csv_path: str, images: int, classes: int = 29) -> str:
    """A copy of the submission with its first ``images`` images."""
    out = csv_path.replace('.csv', f'_{images}.csv')
    with open(csv_path) as f, open(out, 'w') as g:
        g.writelines(line for i, line in zip(range(images * classes + 1), f))
    return out


def row_evaluate(args: argparse.Namespace, work: str) -> None:
    """Peak RSS of ``tools/evaluate.py`` on a few and on many images."""
    root = osp.join(work, 'evaluate')
    csv_path = evaluate_data(root, args.evaluate_images, args.size)
    tool = [sys.executable, 'tools/evaluate.py']
    imports = run_measured(tool + ['--help'])[1]
    masks_mb = 29 * args.size**2 / 2**20
    print(f'tools/evaluate.py, images of {args.size}² (one image\'s masks {masks_mb:.0f} MB); '
          f'its imports alone (--help): {imports:.0f} MB')
    peaks = {}
    for n in sorted({min(4, args.evaluate_images), args.evaluate_images}):
        path = csv_path if n == args.evaluate_images else first_images(csv_path, n)
        peaks[n] = run_measured(tool + [path, '--data-root', root, '--out-dir',
                                        osp.join(work, f'evaluate{n}'), '--no-progress'])[1]
        print(f'  {n} images: peak {peaks[n]:.0f} MB ({peaks[n] - imports:+.0f} over the '
              'imports)', flush=True)
    print(f'  growth from {min(peaks)} to {max(peaks)} images: '
          f'{peaks[max(peaks)] - peaks[min(peaks)]:+.0f} MB (limit: one image\'s masks + 300 MB)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=ROWS)
    parser.add_argument('--size', type=int, default=2048, help='validation, out, evaluate')
    parser.add_argument('--out-images', type=int, default=20)
    parser.add_argument('--predict-size', type=int, default=1024)
    parser.add_argument('--evaluate-images', type=int, default=288)
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        return (child_validation if kind == 'validation' else child_out)(*rest)
    runs = dict(validation=row_validation, out=row_out, predict=row_predict,
                evaluate=row_evaluate)
    with tempfile.TemporaryDirectory(prefix='memory_') as work:
        for row in args.rows:
            runs[row](args, work)


if __name__ == '__main__':
    main()
