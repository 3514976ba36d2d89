"""Search ensemble weights (global or per class) and per-class thresholds on val.

``python tools/analysis_tools/search_ensemble.py --model CFG1:CKPT1 --model CFG2:CKPT2
    --out ensemble.json [--per-class] [--weight-step 0.25]``
Every weight vector on the grid (non-negative, summing to 1) is scored with
every threshold per class by the competition Dice on the first member's
validation fold; the best are written to a JSON that ``tools/ensemble.py
--search-json`` uses.
"""
import argparse
import itertools
from typing import Sequence

import numpy as np
import torch
from mmengine.dataset import Compose
from mmseg.registry import DATASETS

from mmseg_ext.apis import CheckpointMember
from mmseg_ext.apis.member import parse_member
from mmseg_ext.evaluation.threshold_search import ThresholdSearch
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.search_result import write_search_result
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.runtime.progress import track


def weight_grid(num_models: int, step: float) -> list:
    """All weight vectors with entries in multiples of ``step`` summing to 1."""
    units = int(round(1 / step))
    return [np.array(c, float) / units for c in itertools.product(range(units + 1),
                                                                  repeat=num_models)
            if sum(c) == units]


def blend(probs: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """sum_k weights[k] x probs[k], in one new tensor on the members' device."""
    blended = torch.zeros_like(probs[0])
    for member_probs, weight in zip(probs, weights):
        if weight:
            blended.add_(member_probs, alpha=float(weight))
    return blended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', action='append', required=True, help='CONFIG:CKPT')
    parser.add_argument('--out', default='ensemble.json')
    parser.add_argument('--per-class', action='store_true', help='weights per class')
    parser.add_argument('--weight-step', type=float, default=0.25)
    parser.add_argument('--grid', type=float, nargs='+',
                        default=[round(t, 2) for t in np.arange(0.1, 0.91, 0.05)])
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    specs = [parse_member(m) for m in args.model]
    for spec in specs:
        if spec.kind != 'checkpoint':
            parser.error(f'--model {spec}: the search takes CONFIG.py:CKPT members')
        spec.check_files()
    members = [CheckpointMember(s.path, s.checkpoint, device=args.device) for s in specs]
    dataset = DATASETS.build(members[0].model.cfg.val_dataloader.dataset)
    load_gt = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations')])
    grid = weight_grid(len(members), args.weight_step)
    thresholds = sorted(set(args.grid) | {0.5})
    searches = [ThresholdSearch(thresholds) for _ in grid]
    for i in track(range(len(dataset)), what='validation images'):
        info = dataset.get_data_info(i)
        probs = [m.add_probs(info['img_path'], weight=1.0) for m in members]  # on the device
        gt = torch.from_numpy(unpack_bits(load_gt(dict(info))['gt_seg_map'],
                                          len(HAND_BONE_CLASSES))).to(probs[0].device)
        for weights, search in zip(grid, searches):
            search.add(blend(probs, weights), gt)
    tables = np.stack([ThresholdSearch.dice_table(s.counts) for s in searches])  # (W, T, C)
    best_t = tables.max(axis=1)  # (W, C): best threshold for each weight and class
    classes = HAND_BONE_CLASSES
    if args.per_class:
        w_index = best_t.argmax(axis=0)
    else:
        w_index = np.full(len(classes), best_t.mean(axis=1).argmax())
    t_index = tables[w_index, :, np.arange(len(classes))].argmax(axis=1)
    dice = tables[w_index, t_index, np.arange(len(classes))]
    equal = int(np.argmin([np.abs(w - 1 / len(members)).sum() for w in grid]))
    baseline = tables[equal, thresholds.index(0.5)]
    write_search_result(args.out, args.model, classes, [thresholds[t] for t in t_index],
                        [grid[w] for w in w_index], val_mdice=dice.mean(),
                        **{'val_mdice_equal_weights_0.5': baseline.mean()})
    print(f'val mDice: equal weights @0.5 {baseline.mean():.4f} -> searched {dice.mean():.4f} '
          f'({"per-class" if args.per_class else "global"} weights); wrote {args.out}')


if __name__ == '__main__':
    main()
