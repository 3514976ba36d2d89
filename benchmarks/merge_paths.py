"""Seconds per image and peak RSS of the averaging paths, full-plane ("before") vs box merge.

For a checkpoint (the README demo's) on 2048² phantom test images, each row
runs in a fresh process: one warm-up image, then ``--images`` timed images
(prediction, masks, RLE and the CSV row writing), so the seconds per image
are after start-up. Rows: ``tools/test.py``'s path (``test_step``), ``--tta``
(the config's ``tta_pipeline``: 3 scales x flip), a one-member and a
two-member ensemble (the second member tests at 320 px: mixed sizes). The
"before" of each row is the full-plane code, kept here as it was: every
view or member upsampled to (29, 2048, 2048), summed, then thresholded. The
floor is the CSV writing and RLE encoding of 29 bool masks alone. The
outputs of before and after are compared pixel by pixel.

    python benchmarks/merge_paths.py --config CFG --checkpoint CKPT [--images 16]
"""
import argparse
import json
import os.path as osp
import resource
import sys
import tempfile
import time

from benchmarks.common import run_child

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ROWS = ('test', 'tta', 'ensemble1', 'ensemble2', 'floor')


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
    totals, metas0 = None, None
    num_views = len(data['inputs'])
    for index in range(num_views):
        view = segmentor.data_preprocessor({k: v[index] for k, v in data.items()}, False)
        metas = [s.metainfo for s in view['data_samples']]
        logits = segmentor.inference(view['inputs'], metas)
        if index == 0:
            totals, metas0 = [None] * len(metas), metas
        for i, meta in enumerate(metas):
            totals[i] = segmentor.add_original_size(logits[i], meta, totals[i], space=merge)
    rule = segmentor.mask_rule
    if merge == 'vote':
        return rule.finish(totals[0] * 2 > num_views)
    mean = totals[0].div_(num_views)
    return rule(mean.sigmoid_() if merge == 'logit' else mean, metas0[0].get('img_path'))


def before_ensemble_masks(members, path, rule):
    """The ensemble as it was: each member's full-size probabilities into one sum."""
    from mmengine.dataset import pseudo_collate
    total, weight_sum = None, 0.0
    for member in members:
        data = pseudo_collate([member.pipeline(dict(img_path=path))])
        total = member.model.predict_probs(data, total, member.weight)
        weight_sum += member.weight
    return rule(total.div_(weight_sum), path)
# -------------------------------------------------------------------------------------------


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


def _predictor(row, variant, config, checkpoint):
    """A function: image path -> (29, H, W) bool masks."""
    from mmengine.dataset import Compose, pseudo_collate

    from mmseg_ext.apis.ensemble import ensemble_masks, without_annotations
    members = _members(config, checkpoint, 2 if row == 'ensemble2' else 1)
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


def child(row, variant, config, checkpoint, image_root, images, out_csv) -> None:
    import torch

    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.submission import SubmissionWriter, image_paths_by_name
    paths = list(image_paths_by_name(image_root).values())[:images]
    predict = _predictor('test' if row == 'floor' else row, variant, config, checkpoint)
    with torch.no_grad():
        predict(paths[0])  # warm-up
        with SubmissionWriter(out_csv, HAND_BONE_CLASSES) as writer:
            if row == 'floor':  # masks made first; only their writing is timed
                masks = [predict(p) for p in paths]
                start = time.perf_counter()
                for path, m in zip(paths, masks):
                    writer.write_image(osp.basename(path), m)
            else:
                start = time.perf_counter()
                for path in paths:
                    writer.write_image(osp.basename(path), predict(path))
            seconds = (time.perf_counter() - start) / len(paths)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print('RESULT ' + json.dumps(dict(seconds=seconds, rss_mb=rss)))


def differing_pixels(a_csv, b_csv, image_root) -> int:
    from mmseg_ext.utils.formats.submission import read_submission_masks
    a = {n: m for n, _, m in read_submission_masks(a_csv, image_root)}
    b = {n: m for n, _, m in read_submission_masks(b_csv, image_root)}
    return sum(int((a[n] != b[n]).sum()) for n in a)


def make_images(folder, count):
    from mmseg_ext.datasets.phantoms import make_phantoms
    make_phantoms(folder, num_ids=1, size=2048, seed=0, num_test_ids=(count + 1) // 2)
    return osp.join(folder, 'test', 'DCM')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config',
                        default=osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py'))
    parser.add_argument('--checkpoint', required='--child' not in sys.argv)
    parser.add_argument('--images', type=int, default=16)
    parser.add_argument('--data', help='folder for the 2048² phantoms (made if missing)')
    parser.add_argument('--rows', nargs='+', default=list(ROWS), choices=ROWS)
    parser.add_argument('--child', nargs=4, metavar=('ROW', 'VARIANT', 'IMAGE_ROOT', 'CSV'))
    args = parser.parse_args()
    if args.child:
        row, variant, image_root, out_csv = args.child
        return child(row, variant, args.config, args.checkpoint, image_root, args.images,
                     out_csv)
    data = args.data or tempfile.mkdtemp(prefix='merge_paths_')
    image_root = osp.join(data, 'test', 'DCM')
    if not osp.isdir(image_root):
        image_root = make_images(data, args.images)
    out = tempfile.mkdtemp(prefix='merge_paths_csv_')
    script = osp.abspath(__file__)
    results = {}
    for row in args.rows:
        for variant in (('after', ) if row == 'floor' else ('before', 'after')):
            csv = osp.join(out, f'{row}_{variant}.csv')
            results[row, variant] = run_child(
                script, row, variant, image_root, csv, '--config', args.config,
                '--checkpoint', args.checkpoint, '--images', args.images)
            results[row, variant]['csv'] = csv
            print(f'{row:<10} {variant:<6} {results[row, variant]["seconds"]:.3f} s/image '
                  f'{results[row, variant]["rss_mb"]:.0f} MB', flush=True)
    print(f'\n{args.images} images of 2048², {osp.basename(args.checkpoint)}; seconds per image '
          'after start-up (warm-up excluded), peak RSS of the process')
    print(f'{"path":<12} {"before s":>9} {"after s":>8} {"speed-up":>9} {"before MB":>10} '
          f'{"after MB":>9} {"masks":>14}')
    for row in args.rows:
        after = results[row, 'after']
        if row == 'floor':
            print(f'{"floor":<12} {"":>9} {after["seconds"]:8.3f} {"":>9} {"":>10} '
                  f'{after["rss_mb"]:9.0f}   (RLE + CSV rows of 29 bool masks)')
            continue
        before = results[row, 'before']
        same = open(before['csv'], 'rb').read() == open(after['csv'], 'rb').read()
        masks = 'identical CSV' if same else \
            f'{differing_pixels(before["csv"], after["csv"], image_root)} px differ'
        print(f'{row:<12} {before["seconds"]:9.3f} {after["seconds"]:8.3f} '
              f'{before["seconds"] / after["seconds"]:8.1f}x {before["rss_mb"]:10.0f} '
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
