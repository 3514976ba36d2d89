"""Per-image post-processing: 29 logits -> 2048² masks -> RLE -> CSV rows.

Ours: ``upsample_and_threshold`` (what ``tools/test.py`` runs per image without a CRF:
each class upsampled and thresholded only on its box) and ``rle_encode_batch``.
Reference: the path of the team of boostcampaitech8/pro-cv-semanticsegmentation-cv-11,
F.interpolate -> sigmoid -> > thr -> .cpu().numpy() -> per-class flatten/diff RLE. Also
the RLE alone. The logits are bone-shaped (``benchmarks.common.bone_logits``).

    python benchmarks/postprocess.py [--low 512] [--size 2048] [--threads 2]
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.common import bone_logits, compare
from mmseg_ext.datasets.phantoms import render_hand
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.rle import rle_encode_batch
from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
from mmseg_ext.utils.postprocessing.box_merge import upsample_and_threshold


def reference_rle(mask: np.ndarray) -> str:
    """The reference team's RLE of one mask."""
    pixels = np.concatenate([[0], mask.flatten(), [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return ' '.join(str(x) for x in runs)


def phantom_logits(low: int, seed: int = 0) -> torch.Tensor:
    """(29, low, low) bone-shaped logits of a phantom hand."""
    _, bones = render_hand(low, np.random.default_rng(seed), left=False)
    bits = rasterize_bitmask([(HAND_BONE_CLASSES.index(k), v) for k, v in bones.items()],
                             (low, low))
    return bone_logits(unpack_bits(bits, len(HAND_BONE_CLASSES)), seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--low', type=int, default=512, help='logit resolution')
    parser.add_argument('--size', type=int, default=2048, help='original image size')
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logits = phantom_logits(args.low)
    size = (args.size, args.size)
    names = HAND_BONE_CLASSES
    thr = torch.full((29, 1, 1), 0.5)

    def ours():
        masks = upsample_and_threshold(logits, size, thr, align_corners=False)
        return [('x.png', c, r) for c, r in zip(names, rle_encode_batch(masks))]

    def reference():
        up = F.interpolate(logits[None], size=size, mode='bilinear', align_corners=False)
        masks = (up.sigmoid() > 0.5)[0].cpu().numpy()
        return [('x.png', c, reference_rle(m)) for c, m in zip(names, masks)]

    assert ours() == reference(), 'outputs differ'
    full = compare(ours, reference, repeats=3)
    masks = (F.interpolate(logits[None], size=size, mode='bilinear')[0] > 0).numpy()
    rle = compare(lambda: rle_encode_batch(masks), lambda: [reference_rle(m) for m in masks],
                  repeats=3)
    print(f'post-processing, {args.low}² logits -> {args.size}², 29 classes (identical rows):')
    print(f'  ours {full["ours_s"] * 1000:.1f} ms, reference {full["reference_s"] * 1000:.1f} ms, '
          f'speed-up {full["speedup"]:.1f}x (goal >= 5x)')
    print(f'RLE alone, 29 masks of {args.size}², {args.threads} torch thread(s):')
    print(f'  ours {rle["ours_s"] * 1000:.1f} ms, reference {rle["reference_s"] * 1000:.1f} ms, '
          f'speed-up {rle["speedup"]:.1f}x (goal >= 20x)')


if __name__ == '__main__':
    main()
