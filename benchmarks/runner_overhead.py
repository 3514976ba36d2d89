"""mmengine Runner iterations against a plain torch loop: same model, same batches.

Both train the demo HRNet-W18-Small (256², batch 4) on the same in-memory
batches; the time of iterations after a warm-up is compared in one run.

    python benchmarks/runner_overhead.py [--iters 20]
"""
import argparse
import copy
import os.path as osp
import tempfile
import time

import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import DEMO_CONFIG


class InMemory(Dataset):
    """Pre-packed samples, so data loading costs the same on both sides."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return copy.copy(self.samples[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    args = parser.parse_args()
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.hooks import Hook
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmseg.registry import DATASETS, MODELS

    import mmseg_ext  # noqa: F401
    from mmseg_ext.datasets.phantoms import make_phantoms
    init_default_scope('mmseg')
    cfg = Config.fromfile(DEMO_CONFIG)
    data = tempfile.mkdtemp()
    make_phantoms(data, num_ids=4, size=512, seed=0, num_test_ids=0)
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=osp.join(data, 'train'),
                                  fold=None))
    samples = InMemory([dataset[i] for i in range(8)])
    total = args.iters + args.warmup

    def loader():
        return DataLoader(samples, batch_size=4, shuffle=False, collate_fn=pseudo_collate,
                          num_workers=0, sampler=torch.utils.data.RandomSampler(
                              samples, replacement=True, num_samples=4 * total,
                              generator=torch.Generator().manual_seed(0)))

    optim_cfg = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))

    def plain() -> float:
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        optim = build_optim_wrapper(model, optim_cfg)
        model.train()
        for i, batch in enumerate(loader()):
            if i == args.warmup:
                start = time.perf_counter()
            batch = model.data_preprocessor(batch, True)
            losses = model(**batch, mode='loss')
            loss, _ = model.parse_losses(losses)
            optim.update_params(loss)
        return time.perf_counter() - start

    class Stopwatch(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == args.warmup:
                self.start = time.perf_counter()

        def after_train(self, runner):
            self.elapsed = time.perf_counter() - self.start

    def runner() -> float:
        torch.manual_seed(0)
        watch = Stopwatch()
        run = Runner(model=MODELS.build(cfg.model), work_dir=tempfile.mkdtemp(),
                     train_dataloader=loader(), optim_wrapper=optim_cfg,
                     train_cfg=dict(type='IterBasedTrainLoop', max_iters=total),
                     default_hooks=dict(logger=dict(type='LoggerHook', interval=10),
                                        checkpoint=None),
                     custom_hooks=[watch], log_level='WARNING',
                     default_scope='mmseg')
        run.train()
        return watch.elapsed

    times = {'plain': [], 'runner': []}
    for _ in range(2):
        times['plain'].append(plain())
        times['runner'].append(runner())
    t_plain, t_runner = min(times['plain']), min(times['runner'])
    print(f'{args.iters} iterations, HRNet-W18-Small 256², batch 4 (best of 2, interleaved):')
    print(f'  runner {t_runner:.2f} s, plain loop {t_plain:.2f} s, '
          f'ratio {t_runner / t_plain:.3f} (goal <= 1.10)')


if __name__ == '__main__':
    main()
