"""Score a submission CSV against the labels of a data root: Dice and boundary metrics.

``python tools/evaluate.py SUBMISSION --data-root DIR [--out-dir D] [--report DIR]``

Prints the competition Dice per class and its mean (as ``DiceMetric`` computes
it), HD, HD95, ASSD (pixels) and NSD per class (as ``BoundaryMetric``), and the
number of missed and hallucinated bones. Images of the CSV without labels and
labelled images missing from the CSV are named; the score is over the images in
both. ``--out-dir`` writes ``per_image.csv``, ``per_class.csv`` and
``per_class.png``; ``--report`` writes a static HTML report (``index.html``).
"""
import argparse
import os.path as osp
import sys

from prettytable import PrettyTable

from mmseg_ext.evaluation.boundary import BOUNDARY_KEYS
from mmseg_ext.evaluation.metrics.boundary_metric import nan_mean
from mmseg_ext.evaluation.submission_eval import (EvaluationError, evaluate_submission,
                                                  plan_evaluation)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.visualization.report import write_outputs, write_report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submission', help='submission CSV (image_name,class,rle)')
    parser.add_argument('--data-root', required=True,
                        help='folder with DCM/ (images) and outputs_json/ (labels)')
    parser.add_argument('--out-dir', help='write per_image.csv, per_class.csv, per_class.png')
    parser.add_argument('--report', help='write a static HTML report (index.html) here')
    parser.add_argument('--nsd-tolerance', type=float, default=2.0,
                        help='NSD tolerance in pixels (default 2)')
    parser.add_argument('--worst', type=int, default=20,
                        help='(image, class) pairs drawn per list in the report (default 20)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args()


def print_names(what: str, names) -> None:
    if names:
        shown = ', '.join(names[:20]) + (f' and {len(names) - 20} more' if len(names) > 20
                                         else '')
        print(f'{len(names)} {what}: {shown}')


def print_table(summary) -> None:
    table = PrettyTable(field_names=['class', 'Dice', 'HD', 'HD95', 'ASSD', 'NSD', 'misses',
                                     'hallucinations'])
    table.align = 'r'
    for c, name in enumerate(HAND_BONE_CLASSES):
        table.add_row([name, f'{summary["dice"][c]:.4f}']
                      + [f'{summary[k][c]:.2f}' for k in BOUNDARY_KEYS[:3]]
                      + [f'{summary["nsd"][c]:.4f}', int(summary['misses'][c]),
                         int(summary['hallucinations'][c])])
    table.add_row(['mean', f'{summary["dice"].mean():.4f}']
                  + [f'{nan_mean(summary[k]):.2f}' for k in BOUNDARY_KEYS[:3]]
                  + [f'{nan_mean(summary["nsd"]):.4f}', int(summary['misses'].sum()),
                     int(summary['hallucinations'].sum())])
    print(table.get_string())


def main() -> None:
    args = parse_args()
    try:
        plan = plan_evaluation(args.submission, args.data_root)
    except EvaluationError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    print_names('images in the CSV have no labels (not scored)', plan.unlabelled)
    print_names('labelled images are missing from the CSV (not scored)', plan.missing)
    per_image = osp.join(args.out_dir, 'per_image.csv') if args.out_dir else None
    try:
        result = evaluate_submission(plan, nsd_tolerance=args.nsd_tolerance,
                                     per_image_csv=per_image, progress=not args.no_progress)
    except EvaluationError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    summary = result.summary
    print(f'{len(result.names)} images scored')
    print_table(summary)
    print(f'mean Dice {summary["dice"].mean():.4f}, mean HD95 {nan_mean(summary["hd95"]):.2f} '
          f'px, mean NSD {nan_mean(summary["nsd"]):.4f}; misses (labelled bone not predicted, '
          f'scored as the image diagonal): {int(summary["misses"].sum())}, hallucinations: '
          f'{int(summary["hallucinations"].sum())}, empty in both (not averaged): '
          f'{int(summary["both_empty"].sum())}')
    if args.out_dir:
        written = [per_image] + write_outputs(args.out_dir, HAND_BONE_CLASSES, result)
        print('wrote ' + ', '.join(written))
    if args.report:
        print(f'wrote {write_report(args.report, plan, result, count=args.worst)}')


if __name__ == '__main__':
    main()
