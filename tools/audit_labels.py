"""Find the wrong labels of a training set: every (image, bone) label scored against its
out-of-fold prediction and the anatomy of the other labels, faults named, images ranked.

``python tools/audit_labels.py WORK --data-root DATA/train --out-dir A [--gallery 50]
[--flag-at 6] [--max-side 512] [--write-exclude exclude.txt]``
``python tools/audit_labels.py --labels-only --data-root DATA/train --out-dir A``

WORK is a ``tools/kfold.py`` work dir with its out-of-fold predictions (every training
image predicted by the fold model that did not train on it). ``--labels-only`` audits the
labels alone (the anatomy statistics), for a data set before any training. Writes
``A/audit.csv`` (``image, class, score, kind, partner``: every audited pair, images most
suspicious first; ``kind`` one of swap, missing, extra, shift, boundary where flagged,
``partner`` the other bone of a swap) and ``A/index.html`` (ranked table, each flagged pair
zoomed: label outline against the out-of-fold prediction). ``--write-exclude FILE`` lists
the flagged images in the form ``exclude_file=`` of the dataset reads.
"""
import argparse
import os
import os.path as osp
import sys

from mmseg_ext.evaluation.label_audit import FLAG_AT, AuditError, audit_inputs, audit_labels
from mmseg_ext.evaluation.oof_run import OofRunError, finished_folds
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.formats.annotation_json import AnnotationError
from mmseg_ext.utils.formats.exclude_file import write_exclude_file
from mmseg_ext.utils.formats.oof_file import OofFileError
from mmseg_ext.visualization.audit_gallery import (write_audit_csv, write_audit_page,
                                                   write_pair_pictures)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', nargs='?', metavar='WORK',
                        help='tools/kfold.py work dir with out-of-fold predictions')
    parser.add_argument('--data-root', help='training data (DIR/DCM, DIR/outputs_json); '
                        "default: the one WORK's folds trained on")
    parser.add_argument('--out-dir', required=True, help='where audit.csv and index.html go')
    parser.add_argument('--labels-only', action='store_true',
                        help='audit the labels alone (anatomy statistics, no WORK needed)')
    parser.add_argument('--flag-at', type=float, default=FLAG_AT,
                        help=f'score from which a pair is flagged (default {FLAG_AT:g})')
    parser.add_argument('--gallery', type=int, default=50,
                        help='flagged images shown in index.html (default 50)')
    parser.add_argument('--max-side', type=int, default=512,
                        help='longest side of the grid the audit measures on (default 512)')
    parser.add_argument('--write-exclude', metavar='FILE',
                        help="write the flagged images' keys for the dataset's exclude_file")
    args = parser.parse_args()
    if args.work_dir is None and not args.labels_only:
        parser.error('give the k-fold work dir WORK (its out-of-fold predictions), or '
                     '--labels-only to audit the labels alone')
    if args.labels_only and args.data_root is None and args.work_dir is None:
        parser.error('--labels-only needs --data-root DATA/train')
    if args.max_side < 16:
        parser.error(f'--max-side must be at least 16, got {args.max_side}')
    return args


def data_root_of(args: argparse.Namespace) -> str:
    """--data-root, or the one the work dir's folds trained on."""
    if args.data_root:
        return args.data_root
    return next(iter(finished_folds(args.work_dir).values())).data_root


def exclude_entries(result) -> list:
    """(key, why) of every flagged image, most suspicious first."""
    entries = []
    for i in result.ranking():
        pairs = result.flagged(i)
        if pairs:
            why = ', '.join(f'{result.classes[c]} {result.kinds[i][c]}'
                            + (f' with {result.partners[i][c]}' if result.partners[i][c] else '')
                            for c in pairs)
            entries.append((result.keys[i], f'score {result.image_scores[i]:.1f}: {why}'))
    return entries


def write_outputs(args: argparse.Namespace, result, items, data_root: str) -> None:
    """The gallery and page, then audit.csv, then the exclude file (each atomic)."""
    os.makedirs(args.out_dir, exist_ok=True)
    shown = write_pair_pictures(args.out_dir, result, {item.key: item for item in items},
                                args.gallery, args.max_side)
    source = 'labels only' if args.labels_only else f'out-of-fold predictions of {args.work_dir}'
    page = write_audit_page(args.out_dir, result, shown,
                            [f'Data: {data_root}; evidence: {source}.'])
    rows = write_audit_csv(osp.join(args.out_dir, 'audit.csv'), result)
    flagged = exclude_entries(result)
    print(f'{len(items)} images audited, {len(flagged)} with a flagged pair; '
          f'wrote {osp.join(args.out_dir, "audit.csv")} ({rows} rows) and {page}')
    for key, why in flagged[:10]:
        print(f'  {key}  {why}')
    if args.write_exclude:
        count = write_exclude_file(
            args.write_exclude, flagged,
            'images flagged by tools/audit_labels.py; look at them (index.html), then fix\n'
            'the label or keep the line to leave the image out (exclude_file=)')
        print(f'wrote {args.write_exclude} ({count} images)')


def main() -> None:
    args = parse_args()
    try:
        for path in (osp.join(args.out_dir, 'audit.csv'), args.write_exclude):
            if path:
                check_writable(path)
        data_root = data_root_of(args)
        items, uncovered = audit_inputs(data_root, None if args.labels_only else args.work_dir,
                                        HAND_BONE_CLASSES)
        if uncovered:
            print(f'{len(uncovered)} labelled image(s) under {data_root} have no out-of-fold '
                  f'prediction in {args.work_dir} (e.g. {uncovered[0]}): audited with the '
                  'labels-only rules')
        result = audit_labels(items, HAND_BONE_CLASSES, args.max_side, args.flag_at,
                              args.labels_only)
        write_outputs(args, result, items, data_root)
    except (AuditError, OofRunError, OofFileError, AnnotationError, OSError,
            ValueError) as err:
        sys.exit(f'audit_labels: {err}')


if __name__ == '__main__':
    main()
