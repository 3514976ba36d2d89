"""Validate a submission CSV, optionally decoding it to overlay PNGs.

``python tools/analysis_tools/check_submission.py CSV IMAGE_ROOT [--out-dir D]``
"""
import argparse
import os
import os.path as osp
import sys

import cv2

from mmseg_ext.utils.class_names import hand_bone_palette
from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.formats.submission import (SubmissionError, check_submission,
                                                read_submission_masks)
from mmseg_ext.utils.runtime.progress import track
from mmseg_ext.visualization import overlay_masks


def write_overlays(csv_path: str, image_root: str, out_dir: str) -> int:
    """Decode every image's rows and save ``<image>.png`` overlays; returns the count."""
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    decoded = read_submission_masks(csv_path, image_root)
    for name, path, masks in track(decoded, len(image_paths_by_name(image_root)), 'overlays'):
        rgb = overlay_masks(read_xray(path), masks, hand_bone_palette())
        cv2.imwrite(osp.join(out_dir, osp.splitext(name)[0] + '.png'), rgb[..., ::-1])
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('csv', help='submission CSV')
    parser.add_argument('image_root', help='folder of the test images (e.g. test/DCM)')
    parser.add_argument('--out-dir', help='also decode the masks to overlay PNGs here')
    parser.add_argument('--overlay-dir', dest='out_dir', help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        counts = check_submission(args.csv, args.image_root)
    except SubmissionError as err:
        print(f'INVALID: {err}', file=sys.stderr)
        sys.exit(1)
    print(f'OK: {counts["images"]} images, {counts["rows"]} rows in {args.csv} '
          f'(longest RLE {counts["longest_rle"]} characters)')
    if args.out_dir:
        n = write_overlays(args.csv, args.image_root, args.out_dir)
        print(f'wrote {n} overlays to {args.out_dir}')


if __name__ == '__main__':
    main()
