"""Choose the submission on out-of-fold predictions: configurations, ensemble weights,
per-class thresholds and cleanup, each gain measured by nested cross-validation.

``python tools/find_best.py WORK1 [WORK2 ...] --out recipe.json [--data-root DIR]
[--weight-step 0.25] [--thresholds 0.3 0.4 0.5 ...] [--no-per-class-weights]
[--min-areas 256 1024 4096]``

Each WORK is a ``tools/kfold.py`` work dir whose folds all finished with their
out-of-fold predictions (same images, same folds, same classes). Prints the CV table
(in-sample and nested mDice of each procedure, the cleanup chosen per class) and the
command that makes the submission; writes ``recipe.json`` for ``tools/predict.py
--recipe``.
"""
import argparse
import os.path as osp
import sys
from typing import List

from mmseg_ext.evaluation.find_best import DEFAULT_THRESHOLDS, FindBestResult, find_best
from mmseg_ext.evaluation.oof_run import OofRun, OofRunError, load_oof_run
from mmseg_ext.evaluation.submission_eval import EvaluationError
from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.formats.recipe import Recipe, RecipeMember, write_recipe


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK',
                        help='tools/kfold.py work dirs (out-of-fold predictions made)')
    parser.add_argument('--out', required=True, help='recipe JSON to write')
    parser.add_argument('--data-root', help="training data (DIR/DCM, DIR/outputs_json); "
                        "default: the one the folds trained on")
    parser.add_argument('--weight-step', type=float, default=0.25,
                        help='ensemble weight grid step (default 0.25)')
    parser.add_argument('--thresholds', type=float, nargs='+', default=list(DEFAULT_THRESHOLDS),
                        help='threshold grid (default 0.10 to 0.90 by 0.05)')
    parser.add_argument('--no-per-class-weights', action='store_true',
                        help='only one weight vector for all classes')
    parser.add_argument('--min-areas', type=int, nargs='*',
                        help='component sizes the cleanup tries (default 256 1024 4096)')
    return parser.parse_args()


def recipe_of(runs: List[OofRun], result: FindBestResult) -> Recipe:
    """Every fold checkpoint of each configuration the choice weights, sharing its
    configuration's weight per class."""
    class_weights = result.class_weights()  # (C, K)
    members = []
    for k, run in enumerate(runs):
        if not class_weights[:, k].any():
            continue
        for fold in sorted(run.folds):
            share = (class_weights[:, k] / len(run.folds)).tolist()
            members.append(RecipeMember(run.folds[fold].config, run.folds[fold].checkpoint,
                                        share, run.tta))
    best = result.best
    cv = dict(num_images=len(result.folds), chosen=best.name,
              nested_mDice=best.nested, in_sample_mDice=best.in_sample,
              procedures=[dict(name=p.name, in_sample_mDice=p.in_sample, nested_mDice=p.nested,
                               nested_fold_mDice=p.nested_folds) for p in result.procedures],
              cleanup=result.cleanup_scores)
    return Recipe(runs[0].classes, members, result.class_thresholds().tolist(),
                  result.cleanup, cv)


def print_result(runs: List[OofRun], result: FindBestResult) -> None:
    print(f'\nCV on {len(result.folds)} out-of-fold images ({len(runs)} run(s)); in-sample: '
          'chosen and scored on all images; nested: each fold scored by a choice made on the '
          'other folds')
    print(f'{"procedure":<70} {"in-sample":>9} {"nested":>8}  nested per fold')
    for p in result.procedures:
        folds = ' '.join(f'{v:.4f}' for v in p.nested_folds.values())
        mark = '*' if p is result.best else ' '
        print(f'{mark}{p.name[-69:]:<69} {p.in_sample:9.4f} {p.nested:8.4f}  {folds}')
    scores = result.cleanup_scores
    applied = {name: options for name, options in zip(runs[0].classes, result.cleanup)
               if options}
    print(f'cleanup per class: mDice {scores["before"]:.4f} without, {scores["nested"]:.4f} '
          f'nested with the per-class choice; '
          + (f'applied: {applied}' if applied else 'none applied'))
    weights = result.class_weights()
    if len(runs) > 1:
        print('weights per class (' + ', '.join(r.work_dir for r in runs) + '):')
        for name, row in zip(runs[0].classes, weights):
            print(f'  {name:<12} ' + ' '.join(f'{w:.2f}' for w in row))
    print('thresholds: ' + ', '.join(f'{n} {t:.2f}' for n, t in
                                     zip(runs[0].classes, result.class_thresholds())))


def main() -> None:
    args = parse_args()
    try:
        check_writable(args.out)
        runs = [load_oof_run(work_dir) for work_dir in args.work_dirs]
        data_root = args.data_root or runs[0].folds[0].data_root
        result = find_best(runs, data_root, args.weight_step, args.thresholds,
                           not args.no_per_class_weights, args.min_areas)
    except (OofRunError, EvaluationError, ValueError) as err:
        sys.exit(f'find_best: {err}')
    print_result(runs, result)
    write_recipe(args.out, recipe_of(runs, result))
    print(f'\nwrote {args.out} (expected score: nested CV mDice {result.best.nested:.4f}, '
          f'{result.best.name}). Make the submission with:\n'
          f'  python tools/predict.py --recipe {args.out} --image-root DATA/test/DCM '
          f'--submission submission.csv')
    if not osp.isabs(args.out):
        print('(member paths in the recipe are relative to it: move it with the work dirs)')


if __name__ == '__main__':
    main()
