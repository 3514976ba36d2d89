"""Per-class thresholds that maximise Dice on the validation fold.

``python tools/analysis_tools/tune_thresholds.py CONFIG CKPT --out thresholds.json``
Prints per-class Dice at 0.5 and at the tuned thresholds, and whether
post-processing (largest component / small components removed) helps.
"""
import argparse
from typing import Iterator, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

from mmseg_ext.apis import init_model_and_dataset
from mmseg_ext.evaluation.threshold_search import ThresholdSearch
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.formats.thresholds_json import write_thresholds
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.masks.dice_counts import dice_counts, dice_from_counts
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from mmseg_ext.utils.runtime.progress import track


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default='thresholds.json', help='JSON {class: threshold}')
    parser.add_argument('--grid', type=float, nargs='+',
                        default=[round(t, 2) for t in np.arange(0.1, 0.91, 0.05)])
    parser.add_argument('--min-area', type=int, default=0,
                        help='also try removing components below this size')
    parser.add_argument('--close-kernel', type=int, default=0,
                        help='also try a morphological closing of this size')
    parser.add_argument('--fill-holes', action='store_true', help='also try hole filling')
    parser.add_argument('--crf', action='store_true',
                        help='also score dense-CRF masks (optional pydensecrf2)')
    parser.add_argument('--device', default=None, help='default: cuda if available')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def val_predictions(model, dataset, num_classes: int
                    ) -> Iterator[Tuple[torch.Tensor, torch.Tensor, str]]:
    """((C, H, W) probabilities, (C, H, W) bool ground truth, image path) per
    validation image."""
    for i in track(range(len(dataset)), what='validation images'):
        data = pseudo_collate([dataset[i]])
        sample = data['data_samples'][0]
        yield (model.add_probs(data), unpack_bits(sample.gt_sem_seg.data[0], num_classes),
               sample.img_path)


def dice_of(model, dataset, num_classes: int, rules: Sequence[MaskRule]) -> List[np.ndarray]:
    """(C,) Dice over the dataset of each rule's masks, all from one second prediction
    pass (a costly cleanup or CRF runs once per image, not once per candidate threshold)."""
    counts: List[list] = [[] for _ in rules]
    for probs, gt, img_path in val_predictions(model, dataset, num_classes):
        image = read_xray(img_path) if any(rule.crf for rule in rules) else None
        for rule, rule_counts in zip(rules, counts):
            rule_counts.append(dice_counts(rule(probs, image), gt))
    return [dice_from_counts(np.stack(c)).mean(axis=0) for c in counts]


def main() -> None:
    args = parse_args()
    model, dataset = init_model_and_dataset(args.config, args.checkpoint, 'val',
                                            device=args.device, cfg_options=args.cfg_options)
    classes = dataset.metainfo['classes']
    cleanup = dict(keep_largest=True, min_area=args.min_area, close_kernel=args.close_kernel,
                   fill_holes=args.fill_holes)
    search = ThresholdSearch(sorted(set(args.grid) | {0.5}))
    for probs, gt, _ in val_predictions(model, dataset, len(classes)):
        search.add(probs, gt)
    best = search.best()
    default = search.dice_at([0.5] * len(classes))
    rules = [MaskRule(best['thresholds'].tolist(), cleanup=cleanup)]
    rules += [MaskRule(crf=True)] if args.crf else []
    cleaned, *crf_dice = dice_of(model, dataset, len(classes), rules)
    print(f'{"class":<12} {"Dice@0.5":>9} {"tuned":>7} {"thr":>5} {"+cleanup":>9}')
    for name, d0, d1, t, d2 in zip(classes, default, best['dice'], best['thresholds'], cleaned):
        print(f'{name:<12} {d0:9.4f} {d1:7.4f} {t:5.2f} {d2:9.4f}')
    print(f'{"mean":<12} {default.mean():9.4f} {best["dice"].mean():7.4f} {"":5} '
          f'{cleaned.mean():9.4f}')
    verdict = 'helps' if cleaned.mean() > best['dice'].mean() else 'does not help'
    print(f'post-processing ({cleanup}) {verdict} on this validation fold')
    if args.crf:
        crf = crf_dice[0]
        verdict = 'helps' if crf.mean() > best['dice'].mean() else 'does not help'
        print(f'dense CRF: mean Dice {crf.mean():.4f} vs tuned thresholds '
              f'{best["dice"].mean():.4f}: {verdict} on this validation fold')
    write_thresholds(args.out, dict(zip(classes, best['thresholds'])))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
