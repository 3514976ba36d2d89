"""Turn a submission into competition-format annotation JSONs (pseudo-labels).

``python tools/pseudo_label.py SUBMISSION_CSV IMAGE_ROOT OUT_JSON_ROOT [--min-area 50]``
writes OUT_JSON_ROOT/IDxxx/<image stem>.json beside the layout of IMAGE_ROOT,
so the test images can join training (data_root with DCM/ + outputs_json/).
"""
import os.path as osp
import sys

# Run from a checkout: use its mmseg_ext, not an older installed copy.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isdir(osp.join(_REPO, 'mmseg_ext')):
    sys.path.insert(0, _REPO)

import argparse
import csv
import itertools
import json
import os

import numpy as np

from mmseg_ext.datasets.transforms.xray_io import decode_xray
from mmseg_ext.utils.atomic_io import atomic_write_bytes
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.pseudo_label import masks_to_annotations
from mmseg_ext.utils.rle import rle_decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submission')
    parser.add_argument('image_root')
    parser.add_argument('out_json_root')
    parser.add_argument('--min-area', type=int, default=0,
                        help='drop components smaller than this (pixels)')
    args = parser.parse_args()
    images = {n: osp.relpath(osp.join(d, n), args.image_root)
              for d, _, names in os.walk(args.image_root) for n in names}
    written = 0
    with open(args.submission, newline='') as f:
        for name, rows in itertools.groupby(csv.DictReader(f), key=lambda r: r['image_name']):
            if name not in images:
                raise FileNotFoundError(f'{args.submission}: image {name} not under '
                                        f'{args.image_root}')
            rows = list(rows)
            if [r['class'] for r in rows] != list(HAND_BONE_CLASSES):
                raise ValueError(f'{args.submission}: {name} lacks the 29 classes in order')
            path = osp.join(args.image_root, images[name])
            with open(path, 'rb') as img:
                shape = decode_xray(img.read(), path).shape
            masks = np.stack([rle_decode(r['rle'], shape) for r in rows])
            content = masks_to_annotations(masks, HAND_BONE_CLASSES, args.min_area)
            out = osp.join(args.out_json_root, osp.splitext(images[name])[0] + '.json')
            atomic_write_bytes(json.dumps(content).encode(), out)
            written += 1
    print(f'wrote {written} annotation files to {args.out_json_root}')


if __name__ == '__main__':
    main()
