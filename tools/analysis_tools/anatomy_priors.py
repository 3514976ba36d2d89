"""Learn anatomical priors from a dataset's annotations (any class list).

``python tools/analysis_tools/anatomy_priors.py DATA_ROOT --out priors.json [--max-side 512]``
DATA_ROOT holds ``DCM/`` and ``outputs_json/`` (HandBoneDataset's layout). Writes
per-class presence, relative area, centroid position, component count and
pairwise overlap statistics for ``check_anatomy.py`` and ``pseudo_label.py --priors``.
"""
import argparse

from mmseg_ext.datasets import HandBoneDataset
from mmseg_ext.evaluation.anatomy import AnatomyPriors, annotation_features
from mmseg_ext.utils.fileio.xray_io import read_xray_shape
from mmseg_ext.utils.runtime.progress import track


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', help='annotated data: DIR/DCM and DIR/outputs_json')
    parser.add_argument('root', nargs='?', help=argparse.SUPPRESS)  # the data root, unflagged
    parser.add_argument('--out', default='anatomy_priors.json')
    parser.add_argument('--max-side', type=int, default=512,
                        help='measure on a grid of at most this many pixels a side')
    args = parser.parse_args()
    args.data_root = args.data_root or args.root
    if not args.data_root:
        parser.error('give --data-root DIR')
    dataset = HandBoneDataset(data_root=args.data_root, pipeline=[])
    classes = dataset.metainfo['classes']
    features = []
    for i in track(range(len(dataset)), what='annotated images'):
        info = dataset.get_data_info(i)
        features.append(annotation_features(info['gt_polygons'], read_xray_shape(info['img_path']),
                                            len(classes), args.max_side))
    priors = AnatomyPriors.fit(features, classes)
    priors.save(args.out)
    print(f'wrote priors of {len(classes)} classes from {len(features)} annotated images '
          f'to {args.out}')


if __name__ == '__main__':
    main()
