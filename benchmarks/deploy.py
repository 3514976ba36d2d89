"""PyTorch eager vs ONNX Runtime vs OpenVINO, end to end per 2048² image, same masks.

For each config (HRNet-W18 and W48 by default, random weights, the same weights
on every backend), each image goes read -> the model's pre-processing ->
network -> the members' test-size logits merged per class on the boxes where
they can pass the threshold (``ensemble_masks``) -> ``MaskRule`` -> RLE rows,
through the ensemble member interface (``views``): ``CheckpointMember``
(PyTorch, the config's pipeline) and ``ExportedMember`` (the exported ONNX on
ONNX Runtime, OpenVINO float32 and OpenVINO at its default precision).
PyTorch's ``tools/test.py`` path (``test_step``: masks thresholded without
full-size probabilities) is timed too. All backends run at the same thread
count, interleaved image by image in one process (the machine is noisy); one
warm-up image first. ``--tta`` rows add the horizontal flip (PyTorch: a second
member whose pipeline flips). Masks of every backend are compared with
PyTorch's float32 masks (per-class Dice, min over images and classes);
float32 backends must reach 0.999.

    python benchmarks/deploy.py [--configs C ...] [--images 3] [--threads 2]
"""
import argparse
import copy
import os
import os.path as osp
import platform
import tempfile
import time

import numpy as np
import torch

from benchmarks.common import ROOT, random_checkpoint

DEFAULT_CONFIGS = ['configs/hrnet/hrnet_w18_hand.py', 'configs/hrnet/hrnet_w48_hand.py']
MIN_DICE = 0.999


class TestStepPath:
    """PyTorch's ``tools/test.py`` path for one image: ``test_step``, masks only."""

    def __init__(self, member) -> None:
        self.model, self.pipeline = member.model, member.pipeline

    def masks(self, img_path: str) -> torch.Tensor:
        from mmengine.dataset import pseudo_collate
        with torch.no_grad():
            data = pseudo_collate([self.pipeline(dict(img_path=img_path))])
            return self.model.test_step(data)[0].pred_sem_seg.data


def flipped(member):
    """The same PyTorch member whose pipeline flips the image after Resize."""
    from mmengine.dataset import Compose
    other = copy.copy(member)
    steps = list(member.pipeline.transforms)
    at = next(i for i, t in enumerate(steps) if type(t).__name__ == 'Resize') + 1
    from mmseg.registry import TRANSFORMS
    flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0, direction='horizontal'))
    other.pipeline = Compose(steps[:at] + [flip] + steps[at:])
    return other


def build_rows(config: str, work: str, threads: int, tta: bool) -> dict:
    """name -> (callable img_path -> (C, H, W) masks, precision)."""
    from mmseg_ext.apis import CheckpointMember, ensemble_masks
    from mmseg_ext.deploy.export import export_onnx
    from mmseg_ext.deploy.onnx_member import ExportedMember
    stem = osp.join(work, osp.splitext(osp.basename(config))[0])
    ckpt, onnx_path = stem + '.pth', stem + '.onnx'
    if not osp.exists(onnx_path):
        random_checkpoint(config, ckpt)
        start = time.time()
        result = export_onnx(config, ckpt, onnx_path)
        print(f'exported {onnx_path} in {time.time() - start:.0f} s, dynamic axes '
              f'{result.dynamic_axes}, max abs logit difference {result.max_abs_diff:.2g}',
              flush=True)
    torch_member = CheckpointMember(config, ckpt, device='cpu')
    members = {'PyTorch eager': [torch_member] + ([flipped(torch_member)] if tta else [])}
    rule = torch_member.mask_rule
    for name, backend, precision in (('ONNX Runtime', 'onnxruntime', 'f32'),
                                     ('OpenVINO', 'openvino', 'f32'),
                                     ('OpenVINO default', 'openvino', None)):
        members[name] = [ExportedMember(onnx_path, backend=backend, tta=tta, threads=threads,
                                        precision=precision)]
    rows = {}
    for name, group in members.items():
        session = getattr(group[0], 'session', None)
        precision = session.precision if session else 'f32'
        rows[name] = (lambda p, g=group: ensemble_masks(g, p, rule), precision)
    if not tta:
        rows['PyTorch eager, tools/test.py path'] = (TestStepPath(torch_member).masks, 'f32')
    return rows


def dice(a: torch.Tensor, b: torch.Tensor) -> float:
    """Smallest per-class Dice of two (C, H, W) masks (empty vs empty = 1)."""
    from mmseg_ext.utils.masks.dice_counts import dice_counts, dice_from_counts
    return float(dice_from_counts(dice_counts(a, b)).min())


def measure(config: str, images: list, work: str, threads: int, tta: bool) -> list:
    """One table row per backend: s/image, ratio to PyTorch, Dice to PyTorch."""
    from mmseg_ext.utils.formats.rle import rle_encode_batch
    rows = build_rows(config, work, threads, tta)
    times = {name: [] for name in rows}
    worst = {name: 1.0 for name in rows}
    for index, path in enumerate([images[0]] + images):  # the first is a warm-up
        masks = {}
        for name, (fn, _) in rows.items():
            start = time.perf_counter()
            masks[name] = fn(path)
            rle_encode_batch(masks[name])  # the CSV rows
            if index:
                times[name].append(time.perf_counter() - start)
        reference = masks['PyTorch eager']
        for name in rows:
            worst[name] = min(worst[name], dice(masks[name], reference))
        print(f'  {osp.basename(config)} tta={tta} image {index}: ' + ', '.join(
            f'{n} {times[n][-1]:.2f}s' for n in rows if times[n]), flush=True)
    base = np.mean(times['PyTorch eager'])
    table = []
    for name, (_, precision) in rows.items():
        if precision == 'f32':
            assert worst[name] >= MIN_DICE, f'{name}: Dice {worst[name]} against PyTorch'
        mean = float(np.mean(times[name]))
        table.append(dict(config=osp.basename(config), tta=tta, backend=name,
                          precision=precision, s_per_image=mean, speedup=base / mean,
                          dice=worst[name]))
    return table


def make_images(root: str, count: int) -> list:
    from mmseg_ext.datasets.phantoms import make_phantoms
    from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
    make_phantoms(root, num_ids=1, size=2048, seed=3, num_test_ids=(count + 1) // 2)
    return list(image_paths_by_name(osp.join(root, 'test', 'DCM')).values())[:count]


def versions() -> str:
    import onnxruntime
    import openvino
    return (f'torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, openvino '
            f'{openvino.__version__}, {platform.processor() or platform.machine()}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    parser.add_argument('--images', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--no-tta', action='store_true', help='skip the flip rows')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work:
        images = make_images(osp.join(work, 'phantoms'), args.images)
        table = []
        for config in args.configs:
            for tta in (False, ) if args.no_tta else (False, True):
                table += measure(osp.join(ROOT, config), images, work, args.threads, tta)
                print_table(table[-5 if not tta else -4:])  # as soon as measured
    print(f'\n{len(images)} images of 2048², {args.threads} threads; {versions()}; load '
          f'average at the end {os.getloadavg()[0]:.1f}\n')
    print_table(table)


def print_table(rows: list) -> None:
    """Markdown table of :func:`measure`'s rows."""
    print('| config | flip TTA | backend | precision | s/image | speed-up vs PyTorch eager '
          '| min per-class Dice vs PyTorch f32 |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for row in rows:
        print(f"| {row['config']} | {'yes' if row['tta'] else 'no'} | {row['backend']} | "
              f"{row['precision']} | {row['s_per_image']:.2f} | {row['speedup']:.2f}x | "
              f"{row['dice']:.4f} |", flush=True)


if __name__ == '__main__':
    main()
