"""Seconds per image and peak RSS of the averaging paths, full-plane ("before") vs box merge.

On 2048² phantoms, each row runs in a fresh process: one untimed pass over
the images (start-up), then a timed one (prediction, masks, RLE and
the CSV row writing), so the seconds per image are after start-up. With
``--checkpoint`` the model is that checkpoint's. Without one the network's
output is bone-shaped logits of each image's own annotation, drawn at the
view's size, flip and padding (+8 in a bone, -8 outside, smoothed, with
noise: what a trained model gives, so the boxes are a trained model's) and
what is timed is everything after the network (``--run-network`` also runs
the demo network with random weights, for its cost). Rows: ``tools/test.py``'s
path (``test_step``), ``--tta`` (the config's ``tta_pipeline``: 3 scales x
flip), a one-member and a two-member ensemble (the second member tests at
320 px: mixed sizes). The
"before" of each row is the full-plane code, kept here as it was: every
view or member upsampled to (29, 2048, 2048), summed, then thresholded. The
floor is the CSV writing and RLE encoding of 29 bool masks alone. The
outputs of before and after are compared pixel by pixel. The seconds in the
network (``model.inference``) are measured apart, so each row also shows the
time after the network. ``--rows tta_crf``
times ``--tta`` with a dense CRF, which keeps the full-size probabilities.

    python benchmarks/merge_paths.py [--checkpoint CKPT] [--images 16] [--data DIR]
"""
import argparse
import json
import os.path as osp
import resource
import tempfile
import time
import zlib

from benchmarks.common import run_child

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROWS = ('test', 'tta', 'ensemble1', 'ensemble2', 'floor')
EXTRA_ROWS = ('tta_crf', )  # --tta with test_cfg.crf: the full-plane path in both


# ---- the full-plane code as it was (the "before") ---------------------------------------
def before_upsample_and_threshold(logits, out_size, thresholds, align_corners):
    """One model's masks: boxes for integer factors, else full interpolation."""
    import torch
    import torch.nn.functional as F

    from mmseg_ext.utils.postprocessing.box_merge import cell_boxes
    out_size = tuple(int(v) for v in out_size)
    height, width = logits.shape[-2:]
    factors = [o // i for i, o in zip((height, width), out_size)]
    if align_corners or not all(f >= 1 and f * i == o for f, i, o in
                                zip(factors, (height, width), out_size)):
        full = F.interpolate(logits[None], size=out_size, mode='bilinear',
                             align_corners=align_corners)[0]
        return full.sigmoid() > thresholds
    fy, fx = factors
    masks = torch.zeros((logits.shape[0], ) + out_size, dtype=torch.bool)
    positive = logits > torch.logit(thresholds) - 1e-3
    for c, (top, bottom, left, right) in enumerate(cell_boxes(positive).tolist()):
        if top < 0:
            continue
        y0, y1 = max(top - 2, 0), min(bottom + 3, height)
        x0, x1 = max(left - 2, 0), min(right + 3, width)
        up = F.interpolate(logits[c, y0:y1, x0:x1][None, None],
                           size=((y1 - y0) * fy, (x1 - x0) * fx), mode='bilinear',
                           align_corners=False)
        masks[c, y0 * fy:y1 * fy, x0 * fx:x1 * fx] = up[0, 0].sigmoid() > thresholds[c, 0, 0]
    return masks


def before_tta_masks(segmentor, data, merge='prob'):
    """The TTA model's merge as it was: every view added at the original size."""
    from mmseg_ext.utils.fileio.xray_io import read_xray
    from mmseg_ext.utils.postprocessing.original_size import add_votes
    from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms
    rule = segmentor.mask_rule
    totals, metas0 = None, None
    num_views = len(data['inputs'])
    for index in range(num_views):
        view = segmentor.data_preprocessor({k: v[index] for k, v in data.items()}, False)
        metas = [s.metainfo for s in view['data_samples']]
        logits = segmentor.inference(view['inputs'], metas)
        if index == 0:
            totals, metas0 = [None] * len(metas), metas
        for i, meta in enumerate(metas):
            if merge != 'vote':
                totals[i] = segmentor.add_original_size(logits[i], meta, totals[i], space=merge)
                continue
            view = undo_test_transforms(logits[i][None].float(), meta)[0]
            totals[i] = add_votes(totals[i], view, meta['ori_shape'][:2],
                                  rule.thresholds(view.shape[0], view.device), 1.0,
                                  segmentor.align_corners)
    if merge == 'vote':
        return rule.finish(totals[0] * 2 > num_views)
    mean = totals[0].div_(num_views)
    image = read_xray(metas0[0]['img_path']) if rule.crf else None
    return rule(mean.sigmoid_() if merge == 'logit' else mean, image)


def before_ensemble_masks(members, path, rule):
    """The ensemble as it was: each member's full-size probabilities into one sum."""
    from mmengine.dataset import pseudo_collate

    from mmseg_ext.utils.fileio.xray_io import read_xray
    total, weight_sum = None, 0.0
    for member in members:
        data = pseudo_collate([member.pipeline(dict(img_path=path))])
        total = member.model.add_probs(data, total, member.weight)
        weight_sum += member.weight
    return rule(total.div_(weight_sum), read_xray(path) if rule.crf else None)
# -------------------------------------------------------------------------------------------


class PhantomNetwork:
    """Stands in for ``model.inference``: bone-shaped logits of each image's annotation
    at the view's size, flip and padding.

    Args:
        model: The segmentor whose ``inference`` is replaced.
        polygons (dict): Image path -> ``gt_polygons`` (class index, points).
        run_network (bool): Also run the network (its output is not used).
    """

    seconds = 0.0  # spent making stand-in logits, by all instances (not timed)

    def __init__(self, model, polygons: dict, run_network: bool = False) -> None:
        self.network, self.polygons = model.inference, polygons
        self.run_network = run_network
        model.inference = self

    def __call__(self, inputs, metas):
        import torch
        if self.run_network:
            self.network(inputs, metas)
        start = time.perf_counter()
        out = torch.stack([self.logits(meta, tuple(inputs.shape[-2:])) for meta in metas])
        PhantomNetwork.seconds += time.perf_counter() - start
        return out

    def logits(self, meta, padded):
        import numpy as np
        import torch
        import torch.nn.functional as F

        from mmseg_ext.datasets.transforms.loading import rasterize_bitmask
        from mmseg_ext.utils.masks.bitmask import unpack_bits
        from mmseg_ext.utils.postprocessing.view_geometry import padding_of
        left, _, top, _ = padding_of(meta)
        height, width = meta['img_shape'][:2]
        ori_h, ori_w = meta['ori_shape'][:2]
        scale = np.array([width / ori_w, height / ori_h])
        polygons = [(c, np.asarray(p) * scale) for c, p in self.polygons[meta['img_path']]]
        masks = torch.from_numpy(unpack_bits(
            rasterize_bitmask(polygons, (height, width)), 29)).float()
        logits = F.avg_pool2d(masks[None] * 16 - 8, 3, stride=1, padding=1,
                              count_include_pad=False)[0]
        key = (meta['img_path'], height, width, bool(meta.get('flip')))
        noise = torch.Generator().manual_seed(zlib.crc32(repr(key).encode()))
        logits += torch.randn(logits.shape, generator=noise) / 2
        if meta.get('flip'):
            logits = logits.flip(-1)
        canvas = torch.full((29, ) + padded, -8.0)
        canvas[:, top:top + height, left:left + width] = logits
        return canvas


class NetworkTimer:
    """Wraps ``model.inference``: the seconds spent in the network, by all instances.

    Args:
        model: The segmentor whose ``inference`` is timed.
    """

    seconds = 0.0

    def __init__(self, model) -> None:
        self.network = model.inference
        model.inference = self

    def __call__(self, inputs, metas):
        start = time.perf_counter()
        out = self.network(inputs, metas)
        NetworkTimer.seconds += time.perf_counter() - start
        return out


def _members(config, checkpoint, count):
    from mmengine.config import Config

    from mmseg_ext.apis.ensemble import EnsembleMember
    members = [EnsembleMember(config, checkpoint, device='cpu')]
    if count > 1:
        cfg = Config.fromfile(config)
        for step in cfg.test_dataloader.dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (320, 320)
        other = osp.join(tempfile.mkdtemp(), 'member_320.py')
        cfg.dump(other)
        members.append(EnsembleMember(other, checkpoint, device='cpu'))
    return members


def _predictor(row, variant, config, checkpoint, polygons, run_network=False):
    """A function: image path -> (29, H, W) bool masks."""
    from mmengine.dataset import Compose, pseudo_collate

    from mmseg_ext.apis.ensemble import ensemble_masks, without_annotations
    members = _members(config, checkpoint, 2 if row == 'ensemble2' else 1)
    for member in members:
        NetworkTimer(member.model)
        if polygons is not None:
            PhantomNetwork(member.model, polygons, run_network)
    if row == 'tta_crf':
        members[0].model.test_cfg['crf'] = True
        row = 'tta'
    model, rule = members[0].model, members[0].mask_rule
    if row in ('ensemble1', 'ensemble2'):
        if variant == 'before':
            return lambda path: before_ensemble_masks(members, path, rule)
        return lambda path: ensemble_masks(members, path, rule)
    if row == 'tta':
        from mmengine.config import Config
        from mmseg.registry import MODELS
        cfg = Config.fromfile(config)
        pipeline = Compose(without_annotations(cfg.tta_pipeline))
        tta = MODELS.build(dict(cfg.get('tta_model', dict(type='MultiLabelTTAModel')),
                                module=cfg.model))
        tta.module = model  # the loaded weights
        merge = tta.merge

        def predict_tta(path):
            data = pseudo_collate([pipeline(dict(img_path=path))])
            if variant == 'before':
                return before_tta_masks(model, data, merge)
            return tta.test_step(data)[0].pred_sem_seg.data
        return predict_tta
    if variant == 'before':
        import mmseg_ext.models.segmentors.multilabel_mixin as mixin
        mixin.upsample_and_threshold = before_upsample_and_threshold

    def predict(path):
        data = pseudo_collate([members[0].pipeline(dict(img_path=path))])
        return model.test_step(data)[0].pred_sem_seg.data
    return predict


def _images(data_root, images, with_polygons):
    """The first ``images`` image paths (sorted by name) and their polygons (or None)."""
    from mmseg_ext.datasets import HandBoneDataset
    dataset = HandBoneDataset(data_root=data_root, pipeline=[], test_mode=not with_polygons)
    infos = sorted((dataset.get_data_info(i) for i in range(len(dataset))),
                   key=lambda info: osp.basename(info['img_path']))[:images]
    paths = [info['img_path'] for info in infos]
    return paths, {info['img_path']: info['gt_polygons'] for info in infos} \
        if with_polygons else None


def child(row, variant, config, checkpoint, data_root, images, out_csv,
          run_network=False) -> None:
    import torch
    from mmengine.registry import init_default_scope

    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.submission import SubmissionWriter
    init_default_scope('mmseg')
    checkpoint = None if checkpoint == 'none' else checkpoint
    paths, polygons = _images(data_root, images, checkpoint is None)
    predict = _predictor('test' if row == 'floor' else row, variant, config, checkpoint,
                         polygons, run_network)
    with torch.no_grad():
        for path in paths:  # untimed pass: start-up
            predict(path)
        with SubmissionWriter(out_csv, HAND_BONE_CLASSES) as writer:
            seconds, network = 0.0, NetworkTimer.seconds
            for path in paths:
                start, standin = time.perf_counter(), PhantomNetwork.seconds
                masks = predict(path)
                if row == 'floor':  # only the writing of the rows is timed
                    start, standin = time.perf_counter(), PhantomNetwork.seconds
                    network = NetworkTimer.seconds
                writer.write_image(osp.basename(path), masks)
                seconds += time.perf_counter() - start - (PhantomNetwork.seconds - standin)
            seconds /= len(paths)
            network = (NetworkTimer.seconds - network) / len(paths)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print('RESULT ' + json.dumps(dict(seconds=seconds, network=network, rss_mb=rss)))


def differing_pixels(a_csv, b_csv, image_root) -> int:
    from mmseg_ext.utils.formats.submission import read_submission_masks
    a = {n: m for n, _, m in read_submission_masks(a_csv, image_root)}
    b = {n: m for n, _, m in read_submission_masks(b_csv, image_root)}
    return sum(int((a[n] != b[n]).sum()) for n in a)


def make_images(folder, count):
    """2048² phantoms with annotations: ``folder/train`` holds ``count`` (rounded up to even)."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    make_phantoms(folder, num_ids=(count + 1) // 2, size=2048, seed=0, num_test_ids=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config',
                        default=osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py'))
    parser.add_argument('--checkpoint', default='none',
                        help='default: random weights, bone-shaped logits (see above)')
    parser.add_argument('--images', type=int, default=16)
    parser.add_argument('--data', help='folder for the 2048² phantoms (made if missing)')
    parser.add_argument('--run-network', action='store_true',
                        help='without --checkpoint: also run the network (random weights)')
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=ROWS + EXTRA_ROWS)
    parser.add_argument('--child', nargs=4, metavar=('ROW', 'VARIANT', 'DATA_ROOT', 'CSV'))
    args = parser.parse_args()
    if args.child:
        row, variant, data_root, out_csv = args.child
        return child(row, variant, args.config, args.checkpoint, data_root, args.images,
                     out_csv, args.run_network)
    data = args.data or tempfile.mkdtemp(prefix='merge_paths_')
    if not osp.isdir(osp.join(data, 'train')):
        make_images(data, args.images)
    data_root = osp.join(data, 'train' if args.checkpoint == 'none' else 'test')
    image_root = osp.join(data_root, 'DCM')
    out = tempfile.mkdtemp(prefix='merge_paths_csv_')
    script = osp.abspath(__file__)
    results = {}
    for row in args.rows:
        for variant in (('after', ) if row == 'floor' else ('before', 'after')):
            csv = osp.join(out, f'{row}_{variant}.csv')
            results[row, variant] = run_child(
                script, row, variant, data_root, csv, '--config', args.config,
                '--checkpoint', args.checkpoint, '--images', args.images,
                *(['--run-network'] if args.run_network else []))
            results[row, variant]['csv'] = csv
            print(f'{row:<10} {variant:<6} {results[row, variant]["seconds"]:.3f} s/image '
                  f'{results[row, variant]["rss_mb"]:.0f} MB', flush=True)
    model = osp.basename(args.checkpoint) if args.checkpoint != 'none' else \
        'bone-shaped logits' + (' + demo network' if args.run_network else ' (no network)')
    print(f'\n{args.images} images of 2048², {model}; seconds per image after start-up, '
          'peak RSS of the process')
    print(f'{"path":<12} {"before s":>9} {"after s":>8} {"speed-up":>9} {"network s":>10} '
          f'{"post-net before":>16} {"post-net after":>15} {"before MB":>10} {"after MB":>9} '
          f'{"masks":>14}')
    for row in args.rows:
        after = results[row, 'after']
        if row == 'floor':
            print(f'{"floor":<12} {"":>9} {after["seconds"]:8.3f} {"":>9} {"":>10} {"":>16} '
                  f'{"":>15} {"":>10} {after["rss_mb"]:9.0f}   (RLE + CSV rows of 29 bool masks)')
            continue
        before = results[row, 'before']
        same = open(before['csv'], 'rb').read() == open(after['csv'], 'rb').read()
        masks = 'identical CSV' if same else \
            f'{differing_pixels(before["csv"], after["csv"], image_root)} px differ'
        network = (before['network'] + after['network']) / 2  # the same network in both
        print(f'{row:<12} {before["seconds"]:9.3f} {after["seconds"]:8.3f} '
              f'{before["seconds"] / after["seconds"]:8.1f}x {network:10.3f} '
              f'{before["seconds"] - before["network"]:16.3f} '
              f'{after["seconds"] - after["network"]:15.3f} {before["rss_mb"]:10.0f} '
              f'{after["rss_mb"]:9.0f} {masks:>14}')
    if ('test', 'after') in results:
        base = results['test', 'after']
        for row in ('tta', 'ensemble1', 'ensemble2'):
            if (row, 'after') in results:
                r = results[row, 'after']
                print(f'{row} after vs test after: {r["seconds"] / base["seconds"]:.2f}x time, '
                      f'{r["rss_mb"] - base["rss_mb"]:+.0f} MB peak RSS')


if __name__ == '__main__':
    main()
