"""Generate synthetic hand X-ray phantoms in the competition layout.

``python tools/dataset_converters/make_phantoms.py OUT --num-ids 20 --size 512 --seed 0 [--dicom]
[--style default|varied|shifted]`` writes OUT/train/DCM/IDxxx/*.png,
OUT/train/outputs_json/IDxxx/*.json and OUT/test/DCM/IDxxx/*.png (two hands per ID).
``--style varied`` varies pose, bone contrast and noise more and adds unlabelled foreign
objects; ``--style shifted`` draws all of them outside the varied ranges (a shifted test set).
"""
import argparse

from mmseg_ext.datasets.phantoms import PHANTOM_STYLES, make_phantoms


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='output folder')
    parser.add_argument('--num-ids', type=int, default=20, help='training IDs (2 hands each)')
    parser.add_argument('--num-test-ids', type=int, default=None,
                        help='test IDs (default: num-ids // 4, at least 1)')
    parser.add_argument('--size', type=int, default=512, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dicom', action='store_true', help='write DICOM instead of PNG')
    parser.add_argument('--style', choices=sorted(PHANTOM_STYLES), default='default',
                        help='how the images vary (default: the original phantoms)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    counts = make_phantoms(args.out, num_ids=args.num_ids, size=args.size, seed=args.seed,
                           num_test_ids=args.num_test_ids, dicom=args.dicom,
                           style=PHANTOM_STYLES[args.style])
    print(f'wrote {counts["train"]} training and {counts["test"]} test images to {args.out}')


if __name__ == '__main__':
    main()
