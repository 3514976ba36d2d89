"""--tta at 2048²: the mask rule's work and the merge's peak memory, before/after.

The "before" side is the package as it was at a git ref (default: the commit
before the single probability path), exported with ``git archive``; "after"
is this checkout. Each (side, rule) runs in a fresh process on the same
phantoms with the same logits, and the masks of both sides are compared
(asserted equal). The network is a stand-in: ``inference`` returns logits
made from the image's ground truth, resized, flipped and padded like the
view, plus fixed noise (std 3: speckles for cleanup; 0.5 for the CRF, whose
per-class boxes must stay bone-sized); what is measured is everything after the network: undoing the
view, upsampling to 2048², merging, and the rule.

- threshold: per-image time and peak RSS of the merge (``tta.test_step``).
- cleanup: ``keep_largest`` + ``min_area`` per class.
- crf: dense CRF (optional ``pydensecrf2``; the row is skipped without it).

    python benchmarks/probability_path.py [--before REF] [--views 6] [--images 2]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RULES = {'threshold': {}, 'cleanup': dict(cleanup=dict(keep_largest=True, min_area=64)),
         'crf': dict(crf=True)}
# Logit noise (std): speckles for cleanup to remove; low for the CRF, which solves each class
# on the box of its pixels above 0.05, so that the boxes stay bone-sized.
NOISE = {'threshold': 3.0, 'cleanup': 3.0, 'crf': 0.5}


def child(tree: str, rule: str, data_root: str, views: int, masks_out: str) -> dict:
    """Run --tta over the phantoms with the package in ``tree`` (first on PYTHONPATH, set by
    the parent); time, memory, masks."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_ext
    from benchmarks.fullsize_memory import current_rss_mb, peak_during
    from mmseg_ext.datasets import HandBoneDataset
    try:
        from mmseg_ext.utils.masks.bitmask import pack_bits, unpack_bits
    except ImportError:  # the "before" tree's layout
        from mmseg_ext.utils.bitmask import pack_bits, unpack_bits
    assert osp.dirname(osp.dirname(mmseg_ext.__file__)) == tree, mmseg_ext.__file__
    torch.set_num_threads(2)
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(tree, 'configs/demo/hrnet_w18_phantom_cpu.py'))
    cfg.model.test_cfg = dict(mode='whole', **RULES[rule])
    scales = [224 + 32 * i for i in range(max(views // 2, 1))]
    pipeline = [dict(type='LoadXRayImage'), dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(s, s), keep_ratio=True) for s in scales],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')][:views],
        [dict(type='PackSegInputs')]])]
    tta = MODELS.build(dict(type='MultiLabelTTAModel', module=cfg.model)).eval()
    load_gt = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations')])
    gts = {}

    def stand_in_inference(inputs, metas):
        """Logits of the ground truth as this view sees it, plus fixed noise."""
        out = []
        for meta in metas:
            gt = gts[meta['img_path']]
            logits = F.interpolate(gt[None], size=tuple(meta['img_shape']), mode='bilinear',
                                   align_corners=False)[0] * 12 - 6
            if meta.get('flip'):
                logits = logits.flip(-1)
            seed = int(meta['img_shape'][0]) * 2 + bool(meta.get('flip'))
            noise = torch.randn(logits.shape, generator=torch.Generator().manual_seed(seed))
            logits = logits + NOISE[rule] * noise
            pad_h = inputs.shape[-2] - logits.shape[-2]
            pad_w = inputs.shape[-1] - logits.shape[-1]
            out.append(F.pad(logits, (0, pad_w, 0, pad_h), value=-6))
        return torch.stack(out)
    tta.module.inference = stand_in_inference

    dataset = HandBoneDataset(data_root=data_root, pipeline=[])
    times, peaks, masks = [], [], {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        bits = load_gt(dict(info))['gt_seg_map']
        gts[info['img_path']] = torch.from_numpy(unpack_bits(bits, 29)).float()
        batch = pseudo_collate([Compose(pipeline)(dict(info))])
        result = []
        before_mb = current_rss_mb()
        start = time.perf_counter()

        def run():
            with torch.no_grad():
                result.append(tta.test_step(batch)[0].pred_sem_seg.data)
        peak = peak_during(run)
        times.append(time.perf_counter() - start)
        peaks.append(peak - before_mb)
        masks[osp.basename(info['img_path'])] = pack_bits(result[0]).numpy()
        del gts[info['img_path']]
    np.savez_compressed(masks_out, **masks)
    return {'s_per_image': sorted(times), 'extra_mb': sorted(peaks)}


def export_tree(ref: str) -> str:
    """The package, configs and benchmarks as they were at ``ref``, in a temp folder."""
    tree = tempfile.mkdtemp(prefix=f'before-{ref[:8]}-')
    archive = subprocess.run(['git', '-C', ROOT, 'archive', ref, 'mmseg_ext', 'configs',
                              'benchmarks'], check=True, capture_output=True).stdout
    subprocess.run(['tar', '-x', '-C', tree], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--before', default='a6382f6', help='git ref of the "before" side')
    parser.add_argument('--views', type=int, default=6, help='scales x 2 flips')
    parser.add_argument('--images', type=int, default=2, help='2048² phantoms (even)')
    parser.add_argument('--rules', nargs='+', default=list(RULES))
    parser.add_argument('--child', nargs=5, metavar=('TREE', 'RULE', 'DATA', 'VIEWS', 'OUT'))
    args = parser.parse_args()
    if args.child:
        tree, rule, data, views, out = args.child
        print('RESULT ' + json.dumps(child(tree, rule, data, int(views), out)))
        return
    import numpy as np

    from mmseg_ext.datasets.phantoms import make_phantoms
    work = tempfile.mkdtemp()
    make_phantoms(work, num_ids=max(args.images // 2, 1), size=2048, seed=3, num_test_ids=0)
    sides = {'before': export_tree(args.before), 'after': ROOT}
    rules = [r for r in args.rules if r != 'crf' or _has_crf()]
    print(f'--tta, {args.views} views, {args.images} phantoms of 2048², stand-in network; '
          f'before = {args.before}, after = this checkout; seconds per image and extra MB '
          '(min-max over images), fresh process each')
    print('| rule | before s/image | after s/image | speed-up | before extra MB | '
          'after extra MB | masks |')
    print('|---|---|---|---|---|---|---|')
    for rule in rules:
        result, masks = {}, {}
        for side, tree in sides.items():
            out = osp.join(work, f'{side}-{rule}.npz')
            env = dict(os.environ, OMP_NUM_THREADS='2', PYTHONPATH=tree)
            proc = subprocess.run([sys.executable, osp.abspath(__file__), '--child', tree, rule,
                                   osp.join(work, 'train'), str(args.views), out],
                                  capture_output=True, text=True, cwd=tree, env=env)
            if proc.returncode != 0:
                raise RuntimeError(f'{side} {rule} failed:\n{proc.stderr[-3000:]}')
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')][-1]
            result[side] = json.loads(line[len('RESULT '):])
            masks[side] = dict(np.load(out))
        same = all(np.array_equal(masks['before'][k], masks['after'][k]) for k in masks['after'])
        assert same, f'{rule}: the masks differ between before and after'
        b, a = result['before'], result['after']
        print(f"| {rule} | {_span(b['s_per_image'], '.2f')} | {_span(a['s_per_image'], '.2f')} | "
              f"{b['s_per_image'][0] / a['s_per_image'][0]:.1f}x | "
              f"{_span(b['extra_mb'], '.0f')} | {_span(a['extra_mb'], '.0f')} | equal |",
              flush=True)


def _span(values, fmt: str) -> str:
    return f'{values[0]:{fmt}}-{values[-1]:{fmt}}' if len(values) > 1 else f'{values[0]:{fmt}}'


def _has_crf() -> bool:
    try:
        import pydensecrf.densecrf  # noqa: F401
        return True
    except ImportError:
        print('(crf row skipped: pydensecrf2 is not installed)')
        return False


if __name__ == '__main__':
    main()
