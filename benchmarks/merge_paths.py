"""Seconds per image and peak RSS at 2048²: the box merge against the full-plane path.

Both paths are the package's, measured side by side in one run, each (row, path) in a
fresh process on the same phantoms (2048² unless ``--size``): one untimed pass over the
images (start-up), then a timed one (prediction, masks, RLE and the CSV rows).

- boxes: what ``tools/test.py`` and ``tools/predict.py`` run (``ensemble_masks`` ->
  ``rule_masks``): each class upsampled and thresholded only on the box where the mean of
  the views and members can pass its threshold;
- full plane: ``ensemble_probs`` (every view and member upsampled to (29, 2048, 2048)
  floats and added: ``add_upsampled``/``dense_mean``), then the same mask rule, the path a
  dense CRF takes.

Rows: one view; ``--tta`` (the config's ``tta_pipeline``: 3 scales x flip); two members
(256 and 320 px inputs); the floor, the RLE and CSV rows of 29 bool masks alone. The CSVs
of both paths are compared. Without ``--checkpoint`` the network is a stand-in (bone-shaped
logits of each image's annotation, ``benchmarks.common.StandInNetwork``) whose time is left
out; with one, the network's seconds are measured apart.

    python benchmarks/merge_paths.py [--checkpoint CKPT] [--images 16] [--size 2048] [--data DIR]
"""
import argparse
import copy
import os.path as osp
import tempfile
import time
from typing import Callable, List, Optional, Tuple

from benchmarks.common import DEMO_CONFIG, StandInNetwork, report, run_child

ROWS = ('one_view', 'tta', 'two_members', 'floor')
PATHS = ('full', 'boxes')


class InferenceClock:
    """Wraps a segmentor's network (``inference``, or ``network_logits`` where it is
    called; the network or its stand-in) and adds up the seconds spent in it, over all
    instances.

    Args:
        model: The segmentor whose network is timed.
        name (str): The method wrapped. Defaults to 'inference'.
    """

    seconds = 0.0

    def __init__(self, model, name: str = 'inference') -> None:
        self.inference = getattr(model, name)
        setattr(model, name, self)

    def __call__(self, inputs, metas):
        start = time.perf_counter()
        try:
            return self.inference(inputs, metas)
        finally:
            InferenceClock.seconds += time.perf_counter() - start


def members_of(row: str, config: str, checkpoint: Optional[str]) -> list:
    """The row's checkpoint members; the second of two shares the model, at 320 px."""
    from mmengine.dataset import Compose

    from mmseg_ext.apis import CheckpointMember
    from mmseg_ext.apis.ensemble import without_annotations
    member = CheckpointMember(config, checkpoint, device='cpu', tta=row == 'tta')
    if row != 'two_members':
        return [member]
    steps = copy.deepcopy(without_annotations(member.model.cfg.test_dataloader.dataset.pipeline))
    for step in steps:
        if step['type'] == 'Resize':
            step['scale'] = (320, 320)
    other = copy.copy(member)
    other.pipeline = Compose(steps)
    return [member, other]


def predictor(path_kind: str, members: list) -> Callable[[str], object]:
    """Image path -> (29, H, W) bool masks by the box merge or the full-plane path."""
    from mmseg_ext.apis import ensemble_masks, ensemble_probs
    from mmseg_ext.utils.fileio.xray_io import read_xray
    rule = members[0].mask_rule
    if path_kind == 'boxes':
        return lambda path: ensemble_masks(members, path, rule)

    def full_plane(path: str):
        fields = dict(xray=read_xray(path)) if len(members) > 1 else {}  # as ensemble_masks
        return rule(ensemble_probs(members, path, **fields))
    return full_plane


def image_paths(data_root: str, images: int, with_polygons: bool) -> Tuple[List[str], dict]:
    """The first ``images`` image paths (sorted by name) and their polygons (or {})."""
    from mmseg_ext.datasets import HandBoneDataset
    dataset = HandBoneDataset(data_root=data_root, pipeline=[], test_mode=not with_polygons)
    infos = sorted((dataset.get_data_info(i) for i in range(len(dataset))),
                   key=lambda info: osp.basename(info['img_path']))[:images]
    polygons = {info['img_path']: info['gt_polygons'] for info in infos} if with_polygons \
        else {}
    return [info['img_path'] for info in infos], polygons


def child(row: str, path_kind: str, config: str, checkpoint: Optional[str], data_root: str,
          images: int, out_csv: str) -> None:
    """Time one (row, path) over the images; report seconds and network seconds per image."""
    import torch
    from mmengine.registry import init_default_scope

    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.submission import SubmissionWriter
    init_default_scope('mmseg')
    paths, polygons = image_paths(data_root, images, checkpoint is None)
    members = members_of('one_view' if row == 'floor' else row, config, checkpoint)
    for model in {id(m.model): m.model for m in members}.values():
        if polygons:
            StandInNetwork(model, polygons)
        InferenceClock(model)
        InferenceClock(model, 'network_logits')
    predict = predictor(path_kind, members)
    seconds = network = 0.0
    with torch.no_grad():
        for path in paths:  # untimed pass: start-up
            predict(path)
        with SubmissionWriter(out_csv, HAND_BONE_CLASSES) as writer:
            for path in paths:
                start, inference = time.perf_counter(), InferenceClock.seconds
                masks = predict(path)
                if row == 'floor':  # only the writing of the rows is timed
                    start, inference = time.perf_counter(), InferenceClock.seconds
                writer.write_image(osp.basename(path), masks)
                elapsed, spent = time.perf_counter() - start, InferenceClock.seconds - inference
                network += spent
                seconds += elapsed - (spent if polygons else 0.0)  # a stand-in is not timed
    report(seconds=seconds / len(paths), network=0.0 if polygons else network / len(paths))


def differing_pixels(a_csv: str, b_csv: str, image_root: str) -> int:
    """Pixels whose masks differ between two submissions of the same images."""
    from mmseg_ext.utils.formats.submission import read_submission_masks
    a = {n: m for n, _, m in read_submission_masks(a_csv, image_root)}
    b = {n: m for n, _, m in read_submission_masks(b_csv, image_root)}
    return sum(int((a[n] != b[n]).sum()) for n in a)


def print_table(results: dict, rows: List[str], image_root: str) -> None:
    """Seconds per image, the network's share, peak RSS and whether the CSVs agree."""
    print(f'{"row":<12} {"full s":>7} {"boxes s":>8} {"ratio":>6} {"network s":>10} '
          f'{"after the network: full / boxes":>32} {"full MB":>8} {"boxes MB":>9}  CSV')
    for row in rows:
        boxes = results[row, 'boxes']
        if row == 'floor':
            print(f'{row:<12} {"":>7} {boxes["seconds"]:8.3f} {"":>6} {"":>10} {"":>32} '
                  f'{"":>8} {boxes["peak_rss_mb"]:9.0f}  (RLE + CSV rows of 29 bool masks)')
            continue
        full = results[row, 'full']
        same = open(full['csv'], 'rb').read() == open(boxes['csv'], 'rb').read()
        masks = 'identical' if same else \
            f'{differing_pixels(full["csv"], boxes["csv"], image_root)} px differ'
        after = (full['seconds'] - full['network'], boxes['seconds'] - boxes['network'])
        ratio = f'{after[0] / after[1]:.1f}x'
        print(f'{row:<12} {full["seconds"]:7.3f} {boxes["seconds"]:8.3f} '
              f'{full["seconds"] / boxes["seconds"]:5.1f}x '
              f'{(full["network"] + boxes["network"]) / 2:10.3f} '
              f'{f"{after[0]:.3f} / {after[1]:.3f} ({ratio})":>32} '
              f'{full["peak_rss_mb"]:8.0f} {boxes["peak_rss_mb"]:9.0f}  {masks}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--checkpoint', help='default: a stand-in network (see above)')
    parser.add_argument('--images', type=int, default=16)
    parser.add_argument('--size', type=int, default=2048, help='side of the phantoms')
    parser.add_argument('--data', help='folder for the phantoms (made if missing)')
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=ROWS)
    parser.add_argument('--child', nargs=4, metavar=('ROW', 'PATH', 'DATA_ROOT', 'CSV'))
    args = parser.parse_args()
    if args.child:
        row, path_kind, data_root, out_csv = args.child
        return child(row, path_kind, args.config, args.checkpoint, data_root, args.images,
                     out_csv)
    from mmseg_ext.datasets.phantoms import make_phantoms
    split = 'test' if args.checkpoint else 'train'  # the stand-in draws the annotations
    data = args.data or tempfile.mkdtemp(prefix='merge_paths_')
    if not osp.isdir(osp.join(data, split)):
        count = (args.images + 1) // 2
        make_phantoms(data, num_ids=0 if args.checkpoint else count, size=args.size, seed=0,
                      num_test_ids=count if args.checkpoint else 0)
    data_root, out = osp.join(data, split), tempfile.mkdtemp(prefix='merge_paths_csv_')
    model = ['--checkpoint', args.checkpoint] if args.checkpoint else []
    results = {}
    for row in args.rows:
        for path_kind in (('boxes', ) if row == 'floor' else PATHS):
            csv = osp.join(out, f'{row}_{path_kind}.csv')
            results[row, path_kind] = dict(run_child(
                osp.abspath(__file__), row, path_kind, data_root, csv, '--config', args.config,
                '--images', args.images, *model), csv=csv)
            print(f'{row:<12} {path_kind:<6} {results[row, path_kind]["seconds"]:.3f} s/image '
                  f'{results[row, path_kind]["peak_rss_mb"]:.0f} MB', flush=True)
    network = osp.basename(args.checkpoint) if args.checkpoint else 'stand-in network'
    print(f'\n{args.images} images of {args.size}², {network}; seconds per image after '
          'start-up, peak RSS of the process (MB)')
    print_table(results, args.rows, osp.join(data_root, 'DCM'))


if __name__ == '__main__':
    main()
