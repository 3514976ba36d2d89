"""Turn a submission into competition-format annotation JSONs (pseudo-labels).

``python tools/pseudo_label.py SUBMISSION_CSV IMAGE_ROOT OUT_JSON_ROOT [--min-area 50]
[--priors P [--max-score 0]]``
writes OUT_JSON_ROOT/IDxxx/<image stem>.json beside the layout of IMAGE_ROOT,
so the test images can join training (data_root with DCM/ + outputs_json/).
"""
import argparse
import json
import os.path as osp

from mmseg_ext.evaluation.anatomy import AnatomyPriors, check_masks, findings_score
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.formats.annotation_json import masks_to_annotations
from mmseg_ext.utils.formats.submission import read_submission_masks
from mmseg_ext.utils.runtime.progress import track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submission')
    parser.add_argument('image_root')
    parser.add_argument('out_json_root')
    parser.add_argument('--min-area', type=int, default=0,
                        help='drop components smaller than this (pixels)')
    parser.add_argument('--priors', help='anatomy priors JSON (anatomy_priors.py): keep only '
                        'images whose anatomical findings score at most --max-score')
    parser.add_argument('--max-score', type=float, default=0.0,
                        help='with --priors: 0 keeps only images without findings')
    args = parser.parse_args()
    priors = AnatomyPriors.load(args.priors) if args.priors else None
    written = skipped = 0
    decoded = read_submission_masks(args.submission, args.image_root)
    total = len(image_paths_by_name(args.image_root))
    for _, path, masks in track(decoded, total, 'images'):
        if priors and findings_score(check_masks(masks, priors)) > args.max_score:
            skipped += 1
            continue
        content = masks_to_annotations(masks, HAND_BONE_CLASSES, args.min_area)
        relative = osp.relpath(path, args.image_root)
        out = osp.join(args.out_json_root, osp.splitext(relative)[0] + '.json')
        atomic_write_bytes(json.dumps(content).encode(), out)
        written += 1
    print(f'wrote {written} annotation files to {args.out_json_root}' +
          (f'; skipped {skipped} with anatomical findings (score > {args.max_score})'
           if priors else ''))


if __name__ == '__main__':
    main()
