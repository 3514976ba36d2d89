"""The anatomical check on injected faults: recall per fault kind, clean false flags, speed.

Priors come from the ground truth of training phantoms; held-out phantoms'
ground-truth masks get one fault each (drop a class, split one, add a blob,
swap two classes, shrink or grow one by 40% of its area). A fault is found
when the checker reports a finding on an affected class. The clean masks of
the same images give the false-flag rate. Speed: the check on 29 x 2048²
masks against decoding their RLE, measured side by side.

    python benchmarks/anatomy_check.py [--train 100] [--test 300] [--size 512]
        [--model CONFIG CKPT]
"""
import argparse
import os.path as osp
import time

import numpy as np

from mmseg_ext.datasets.phantom_faults import FAULTS, inject_fault, phantom_masks
from mmseg_ext.evaluation.anatomy import AnatomyPriors, check_masks, mask_features
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.rle import rle_decode, rle_encode_batch
from mmseg_ext.utils.masks.bitmask import unpack_bits


def speed(priors: AnatomyPriors, rng: np.random.Generator, repeats: int = 5) -> tuple:
    """Milliseconds per 2048² image: the check, and the RLE decoding it needs (best of)."""
    masks = phantom_masks(2048, rng)
    rles = rle_encode_batch(masks)
    t_check = t_decode = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        decoded = np.stack([rle_decode(r, (2048, 2048)) for r in rles])
        t_decode = min(t_decode, time.perf_counter() - start)
        start = time.perf_counter()
        check_masks(decoded, priors)
        t_check = min(t_check, time.perf_counter() - start)
    return 1000 * t_check, 1000 * t_decode


def model_correlation(config: str, checkpoint: str, priors: AnatomyPriors, images: int,
                      size: int, seed: int) -> tuple:
    """Spearman rank correlation over held-out phantoms between a model's per-image mean
    Dice and its anatomical findings score (negative: flagged images score lower)."""
    import tempfile

    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmseg_ext.apis import init_model_and_dataset
    from mmseg_ext.datasets.phantoms import make_phantoms
    from mmseg_ext.evaluation.anatomy import findings_score
    from mmseg_ext.utils.masks.dice_counts import dice_counts, dice_from_counts
    init_default_scope('mmseg')
    root = tempfile.mkdtemp()
    make_phantoms(root, num_ids=images // 2, size=size, seed=seed, num_test_ids=1)
    model, dataset = init_model_and_dataset(
        config, checkpoint, 'val', device='cpu',
        cfg_options={'val_dataloader.dataset.data_root': osp.join(root, 'train'),
                     'val_dataloader.dataset.fold': None})
    dice, score = [], []
    for i in range(len(dataset)):
        with torch.no_grad():
            sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        pred = sample.pred_sem_seg.data.cpu()
        gt = unpack_bits(sample.gt_sem_seg.data[0], len(HAND_BONE_CLASSES))
        dice.append(float(dice_from_counts(dice_counts(pred, gt)).mean()))
        score.append(findings_score(check_masks(pred.numpy(), priors)))
    ranks = [np.argsort(np.argsort(v)) for v in (dice, score)]
    rho = float(np.corrcoef(*ranks)[0, 1]) if np.std(score) > 0 else float('nan')
    flagged = [d for d, s in zip(dice, score) if s > 0]
    clean = [d for d, s in zip(dice, score) if s == 0]
    return rho, len(dice), flagged, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', type=int, default=100, help='training phantoms (priors)')
    parser.add_argument('--test', type=int, default=300, help='held-out phantoms')
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--model', nargs=2, metavar=('CONFIG', 'CKPT'),
                        help='also correlate findings with Dice of this model on '
                        '--model-images held-out phantoms (e.g. the demo checkpoint)')
    parser.add_argument('--model-images', type=int, default=40)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    priors = AnatomyPriors.fit([mask_features(phantom_masks(args.size, rng))
                                for _ in range(args.train)], HAND_BONE_CLASSES)
    found = {k: 0 for k in FAULTS}
    tried = {k: 0 for k in FAULTS}
    clean_flagged = 0
    for i in range(args.test):
        masks = phantom_masks(args.size, rng)
        clean_flagged += bool(check_masks(masks, priors))
        fault = FAULTS[i % len(FAULTS)]
        faulty, affected = inject_fault(masks, fault, rng)
        names = {HAND_BONE_CLASSES[c] for c in affected}
        tried[fault] += 1
        found[fault] += any(f.class_name in names for f in check_masks(faulty, priors))
    print(f'priors from {args.train} training phantoms, {args.test} held-out, {args.size} px')
    for fault in FAULTS:
        print(f'  {fault:<7} found {found[fault]:>3}/{tried[fault]:<3} '
              f'({found[fault] / tried[fault]:.1%})')
    total = sum(found.values()) / sum(tried.values())
    print(f'  all     found {sum(found.values())}/{sum(tried.values())} ({total:.1%}); '
          f'clean images flagged {clean_flagged}/{args.test} ({clean_flagged / args.test:.1%})')
    if args.model:
        rho, n, flagged, clean = model_correlation(*args.model, priors, args.model_images,
                                                   args.size, args.seed + 1)
        print(f'  model predictions on {n} held-out phantoms: {len(flagged)} flagged, mean '
              f'Dice flagged {np.mean(flagged) if flagged else float("nan"):.4f} vs not flagged '
              f'{np.mean(clean) if clean else float("nan"):.4f}; Spearman(Dice, findings '
              f'score) {rho:+.2f}')
    check_ms, decode_ms = speed(priors, rng)
    print(f'  speed at 2048²: check {check_ms:.1f} ms per image vs RLE decoding '
          f'{decode_ms:.1f} ms '
          f'(ratio {check_ms / decode_ms:.2f})')


if __name__ == '__main__':
    main()
