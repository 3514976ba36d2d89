"""Full-size figures of the shipped configs: training and test speed, peak memory.

For each config: seconds per training iteration (the config's own train
pipeline on 2048² phantoms -> 1024 input, batch 2, forward + backward +
AdamW step) and seconds per test image (2048² image, the config's test
pipeline, prediction upsampled to 2048², threshold, RLE). Each measurement
runs in a fresh process; its peak RSS (``benchmarks.common.run_measured``) is
reported, and on a GPU also ``torch.cuda.max_memory_allocated``. Random weights: speed and memory do
not depend on them.

    python benchmarks/fullsize.py [--configs C ...] [--iters 2] [--images 3]
"""
import argparse
import os.path as osp
import tempfile
import time

from benchmarks.common import ROOT, report, run_child

DEFAULT_CONFIGS = ['configs/hrnet/hrnet_w18_hand.py', 'configs/hrnet/hrnet_w48_hand.py',
                   'configs/smp/deeplabv3plus_r50_hand.py']


def _build(config: str, device: str):
    """The config and its model (random weights) on ``device``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_ext  # noqa: F401
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, config))
    model = MODELS.build(cfg.model).to(device)
    return cfg, model


def _samples(pipeline_cfg, data_root: str, count: int, with_labels: bool) -> list:
    from mmengine.dataset import Compose

    from mmseg_ext.datasets import HandBoneDataset
    dataset = HandBoneDataset(data_root=data_root, pipeline=[], test_mode=not with_labels)
    pipeline = Compose(pipeline_cfg)
    return [pipeline(dataset.get_data_info(i % len(dataset))) for i in range(count)]


def _sync(device: str) -> None:
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def measure_train(config: str, data_root: str, iters: int, device: str) -> float:
    """Seconds per training iteration (after one warm-up iteration)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    cfg, model = _build(config, device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch_size = cfg.train_dataloader.batch_size
    samples = _samples(cfg.train_pipeline, data_root, batch_size, with_labels=True)
    batch = pseudo_collate(samples)
    model.train_step(batch, optim_wrapper)  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        model.train_step(batch, optim_wrapper)
    _sync(device)
    return (time.perf_counter() - start) / iters


def measure_test(config: str, data_root: str, images: int, device: str) -> float:
    """Seconds per test image: pipeline, prediction at 2048², threshold, RLE."""
    import torch
    from mmengine.dataset import pseudo_collate

    from mmseg_ext.utils.formats.rle import rle_encode_batch
    cfg, model = _build(config, device)
    model.eval()
    pipeline = cfg.test_pipeline

    def one(sample) -> None:
        with torch.no_grad():
            out = model.test_step(pseudo_collate([sample]))[0]
        rle_encode_batch(out.pred_sem_seg.data.bool())

    samples = _samples(pipeline, data_root, images + 1, with_labels=False)
    one(samples[0])  # warm-up
    _sync(device)
    start = time.perf_counter()
    for sample in samples[1:]:
        one(sample)
    _sync(device)
    return (time.perf_counter() - start) / images


def child(mode: str, config: str, data_root: str, count: int, device: str) -> None:
    """One measurement (``mode`` 'train' or 'test') in this process."""
    import torch
    measure = measure_train if mode == 'train' else measure_test
    result = dict(seconds=measure(config, data_root, count, device))
    if device.startswith('cuda'):
        result['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated() / 2**20
    report(**result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    parser.add_argument('--iters', type=int, default=2, help='timed training iterations')
    parser.add_argument('--images', type=int, default=3, help='timed test images')
    parser.add_argument('--device', default=None, help='default: cuda if available, else cpu')
    parser.add_argument('--child', nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, config, data_root, count, device = args.child
        child(mode, config, data_root, int(count), device)
        return
    import torch
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    from mmseg_ext.datasets.phantoms import make_phantoms
    tmp = tempfile.mkdtemp()
    make_phantoms(tmp, num_ids=1, size=2048, seed=0, num_test_ids=2)
    name = torch.cuda.get_device_name() if device.startswith('cuda') else 'CPU'
    print(f'device: {name}, torch threads: {torch.get_num_threads()}; 2048² phantoms')
    header = f'{"config":<40} {"what":<28} {"s":>8} {"peak RSS MB":>12}'
    print(header + (f' {"CUDA max alloc MB":>18}' if device.startswith('cuda') else ''))
    for config in args.configs:
        for mode, count, what in [('train', args.iters, 'train iter (1024, batch 2)'),
                                  ('test', args.images, 'test image (2048)')]:
            root = osp.join(tmp, 'train' if mode == 'train' else 'test')
            r = run_child(__file__, mode, config, root, count, device)
            line = f'{osp.basename(config):<40} {what:<28} {r["seconds"]:8.2f} ' \
                   f'{r["peak_rss_mb"]:12.0f}'
            if 'cuda_max_allocated_mb' in r:
                line += f' {r["cuda_max_allocated_mb"]:18.0f}'
            print(line, flush=True)


if __name__ == '__main__':
    main()
