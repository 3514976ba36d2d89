"""Peak memory of one 2048² image through validation, --tta and ensembles, before/after.

Each (scenario, size, variant) runs in a fresh process: one warm-up run of
the step, then the measured run, whose peak RSS (sampled every millisecond;
``torch.cuda.max_memory_allocated`` too on a GPU) and extra over the memory
just before it are printed: the per-image working memory. The model is the
demo HRNet (random weights, 256 input): what grows with views and members is
the full-size (29, 2048, 2048) output, not the network.

- validation: ``val_step`` + ``DiceMetric.process``. before: full-size float
  probabilities kept beside the masks (the old ``output_probs=True`` default) and ground truth
  unpacked through int64; after: masks only, unpacked plane by plane.
- tta V: V views (scales x flips). before: every view kept, then stacked and
  averaged (the old ``merge_preds``); after: merged as the views arrive.
- ensemble K: K members. before: each member's probabilities copied to the
  host and summed with a temporary; after: running sum in place on the device.

    python benchmarks/fullsize_memory.py [--size 2048]
"""
import argparse
import gc
import json
import os
import os.path as osp
import tempfile
import threading
import time

from benchmarks.common import run_child

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIG = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')


def current_rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def peak_during(fn) -> float:
    """Largest RSS (MB) seen, sampling every millisecond, while ``fn`` runs."""
    peak, done = [current_rss_mb()], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], current_rss_mb())
            time.sleep(0.001)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    return max(peak[0], current_rss_mb())


def _model(cfg, device):
    from mmseg.registry import MODELS
    return MODELS.build(cfg.model).to(device).eval()


def step_validation(variant: str, data_root: str, device: str, _count: int):
    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate

    from mmseg_ext.datasets import HandBoneDataset
    from mmseg_ext.evaluation import DiceMetric
    cfg = Config.fromfile(CONFIG)
    model = _model(cfg, device)
    dataset = HandBoneDataset(data_root=data_root, pipeline=[])
    batch = pseudo_collate([Compose(cfg.val_pipeline)(dataset.get_data_info(0))])

    class OldDiceMetric(DiceMetric):
        """The previous process(): ground truth unpacked through (C, H, W) int64."""

        def process(self, data_batch, data_samples) -> None:
            for sample in data_samples:
                bits = sample['gt_sem_seg']['data'][0]
                gt = ((bits.unsqueeze(-3).to(torch.int64)
                       >> torch.arange(29).view(-1, 1, 1)) & 1).bool()
                pred = sample['pred_sem_seg']['data'].bool()
                inter = (pred & gt).flatten(1).sum(1)
                self.results.append(torch.stack(
                    [inter, pred.flatten(1).sum(1), gt.flatten(1).sum(1)]).numpy())

    metric = DiceMetric() if variant == 'after' else OldDiceMetric()
    metric.dataset_meta = dataset.metainfo

    def run():
        with torch.no_grad():
            outputs = model.val_step(batch)
        # before: the full-size probabilities were kept beside the masks
        kept = model.add_probs(batch) if variant == 'before' else None  # noqa: F841
        metric.process(batch, [o.to_dict() for o in outputs])  # as mmengine's Evaluator
    return run


def step_tta(variant: str, data_root: str, device: str, views: int):
    import torch
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from mmseg.registry import MODELS

    from mmseg_ext.datasets import HandBoneDataset
    from mmseg_ext.models.segmentors.multilabel_tta import MultiLabelTTAModel
    cfg = Config.fromfile(CONFIG)
    scales = [224 + 32 * i for i in range(views // 2)]
    pipeline = [dict(type='LoadXRayImage'), dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(s, s), keep_ratio=True) for s in scales],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackSegInputs')]])]
    dataset = HandBoneDataset(data_root=data_root, pipeline=[], test_mode=True)
    batch = pseudo_collate([Compose(pipeline)(dataset.get_data_info(0))])

    class StackingTTA(MultiLabelTTAModel):
        """The previous merge: every view's probabilities kept, then stacked."""

        def test_step(self, data):
            views = [self.module.add_probs({key: value[i] for key, value in data.items()})
                     for i in range(len(data['inputs']))]
            mean = torch.stack(views).mean(dim=0)
            return [mean > self.module.mask_rule.thresholds(mean.shape[0], mean.device)]

    tta_type = StackingTTA if variant == 'before' else MultiLabelTTAModel
    MODELS.register_module(module=StackingTTA, force=True)
    tta = MODELS.build(dict(type=tta_type.__name__, module=cfg.model)).to(device).eval()

    def run():
        with torch.no_grad():
            tta.test_step(batch)
    return run


def step_ensemble(variant: str, data_root: str, device: str, members: int):
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS

    from mmseg_ext.apis import EnsembleMember, ensemble_probs
    from mmseg_ext.datasets import HandBoneDataset
    ckpt = osp.join(tempfile.mkdtemp(), 'random.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(CONFIG).model).state_dict(),
                'meta': {}}, ckpt)
    models = [EnsembleMember(CONFIG, ckpt, device=device) for _ in range(members)]
    path = HandBoneDataset(data_root=data_root, pipeline=[],
                           test_mode=True).get_data_info(0)['img_path']

    def before():
        total, weight_sum = None, 0.0
        for member in models:
            probs = member.add_probs(path, weight=1.0).cpu()
            total = probs * member.weight if total is None \
                else total.add_(probs * member.weight)
            weight_sum += member.weight
        return (total / weight_sum > 0.5)

    def after():
        return ensemble_probs(models, path) > 0.5
    return before if variant == 'before' else after


SCENARIOS = {'validation': step_validation, 'tta': step_tta, 'ensemble': step_ensemble}


def child(scenario: str, variant: str, data_root: str, count: int) -> None:
    import torch
    from mmengine.registry import init_default_scope

    import mmseg_ext  # noqa: F401
    init_default_scope('mmseg')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    run = SCENARIOS[scenario](variant, data_root, device, count)
    run()  # warm-up: first-call caches (oneDNN, allocator) are not per-image memory
    gc.collect()
    before_step = current_rss_mb()
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    peak = peak_during(run)
    result = dict(peak_rss_mb=peak, extra_mb=peak - before_step)
    if device == 'cuda':
        result['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
    print('RESULT ' + json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--child', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, variant, data_root, count = args.child
        child(scenario, variant, data_root, int(count))
        return
    from mmseg_ext.datasets.phantoms import make_phantoms
    tmp = tempfile.mkdtemp()
    make_phantoms(tmp, num_ids=1, size=args.size, seed=0, num_test_ids=1)
    masks_mb = 29 * args.size**2 / 2**20
    print(f'one {args.size}² image, 29 classes (bool masks {masks_mb:.0f} MB, float32 '
          f'probabilities {4 * masks_mb:.0f} MB); MB of peak RSS (extra over the process '
          f'before the step)')
    rows = [('validation', 1)] + [('tta', v) for v in (2, 4, 8)] + \
        [('ensemble', k) for k in (1, 2, 4)]
    for scenario, count in rows:
        root = osp.join(tmp, 'train' if scenario == 'validation' else 'test')
        cells = []
        for variant in ('before', 'after'):
            r = run_child(__file__, scenario, variant, root, count)
            cell = f'{variant} {r["peak_rss_mb"]:6.0f} ({r["extra_mb"]:+6.0f})'
            if 'cuda_max_allocated_mb' in r:
                cell += f' cuda {r["cuda_max_allocated_mb"]:6.0f}'
            cells.append(cell)
        label = scenario if scenario == 'validation' else f'{scenario} x{count}'
        print(f'{label:<14} ' + '   '.join(cells), flush=True)


if __name__ == '__main__':
    main()
