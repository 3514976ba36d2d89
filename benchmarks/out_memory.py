"""Peak memory of ``tools/test.py --out`` over 20 test images of 2048², before/after.

before: mmengine's ``DumpResults`` (what ``--out`` used): every data sample,
with its (29, 2048, 2048) masks, kept until the end, then pickled.
after: ``MaskDump``: each image's masks written as a compressed bit map as it
is predicted; only the file name is kept.
Each variant runs the stock Runner's test loop in a fresh process (peak RSS
of that process, sampled every millisecond); the model is the demo HRNet
with random weights (256 input, logits upsampled to 2048²).

    python benchmarks/out_memory.py [--images 20] [--size 2048]
"""
import argparse
import json
import os.path as osp
import tempfile

from benchmarks.common import run_child
from benchmarks.fullsize_memory import current_rss_mb, peak_during

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CONFIG = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')


def child(variant: str, data_root: str, out: str) -> None:
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmseg_ext  # noqa: F401
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = osp.join(out, 'work')
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.log_level = 'WARNING'
    cfg.test_evaluator = [dict(type='DumpResults', out_file_path=osp.join(out, 'preds.pkl'))
                          if variant == 'before' else dict(type='MaskDump', out_dir=out)]
    runner = Runner.from_cfg(cfg)
    start = current_rss_mb()
    peak = peak_during(runner.test)
    print('RESULT ' + json.dumps(dict(start_mb=start, peak_mb=peak)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=20)
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--child', nargs=3, metavar=('VARIANT', 'DATA', 'OUT'))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = tempfile.mkdtemp()
    make_phantoms(root, num_ids=1, size=args.size, seed=0, num_test_ids=args.images // 2)
    data = osp.join(root, 'test')
    print(f'tools/test.py --out, {args.images} test images of {args.size}², peak RSS (MB):')
    rows = {v: run_child(__file__, v, data, tempfile.mkdtemp()) for v in ('before', 'after')}
    for variant, r in rows.items():
        print(f'  {variant:6s} peak {r["peak_mb"]:7.0f}  (+{r["peak_mb"] - r["start_mb"]:.0f} '
              f'over the process before the test loop)')
    print(f'  ratio before/after peak: {rows["before"]["peak_mb"] / rows["after"]["peak_mb"]:.2f}x')


if __name__ == '__main__':
    main()
