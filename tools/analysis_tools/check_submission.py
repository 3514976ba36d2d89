"""Validate a submission CSV, optionally decoding it to overlay PNGs.

``python tools/analysis_tools/check_submission.py CSV IMAGE_ROOT [--overlay-dir D]``
"""
import os.path as osp
import sys

# Run from a checkout: use its mmseg_ext, not an older installed copy.
_REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if osp.isdir(osp.join(_REPO, 'mmseg_ext')):
    sys.path.insert(0, _REPO)

import argparse
import csv
import itertools
import os

import cv2
import numpy as np

from mmseg_ext.datasets.transforms.xray_io import decode_xray
from mmseg_ext.utils.class_names import hand_bone_palette
from mmseg_ext.utils.rle import rle_decode
from mmseg_ext.utils.submission_check import SubmissionError, check_submission
from mmseg_ext.visualization import overlay_masks


def write_overlays(csv_path: str, image_root: str, out_dir: str) -> int:
    """Decode every image's rows and save ``<image>.png`` overlays; returns the count."""
    paths = {n: osp.join(d, n) for d, _, names in os.walk(image_root) for n in names}
    os.makedirs(out_dir, exist_ok=True)
    count = 0
    with open(csv_path, newline='') as f:
        for name, rows in itertools.groupby(csv.DictReader(f), key=lambda r: r['image_name']):
            with open(paths[name], 'rb') as img_file:
                image = decode_xray(img_file.read(), paths[name])
            masks = np.stack([rle_decode(r['rle'], image.shape) for r in rows])
            rgb = overlay_masks(image, masks, hand_bone_palette())
            cv2.imwrite(osp.join(out_dir, osp.splitext(name)[0] + '.png'), rgb[..., ::-1])
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('csv', help='submission CSV')
    parser.add_argument('image_root', help='folder of the test images (e.g. test/DCM)')
    parser.add_argument('--overlay-dir', help='also decode the masks to overlay PNGs here')
    args = parser.parse_args()
    try:
        counts = check_submission(args.csv, args.image_root)
    except SubmissionError as err:
        print(f'INVALID: {err}', file=sys.stderr)
        sys.exit(1)
    print(f'OK: {counts["images"]} images, {counts["rows"]} rows in {args.csv}')
    if args.overlay_dir:
        n = write_overlays(args.csv, args.image_root, args.overlay_dir)
        print(f'wrote {n} overlays to {args.overlay_dir}')


if __name__ == '__main__':
    main()
