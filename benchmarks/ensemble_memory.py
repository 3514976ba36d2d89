"""Peak memory of tools/ensemble.py for (K models, N images): flat in N.

Each (K, N) runs in a fresh process; its peak RSS (ru_maxrss) is reported.
Models are the demo HRNet config (random weights: memory does not depend on
them); images are 1024² phantoms.

    python benchmarks/ensemble_memory.py [--size 1024]
"""
import argparse
import os.path as osp
import subprocess
import sys
import tempfile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def peak_rss_mb(cmd) -> float:
    """Run ``cmd`` in a fresh wrapper process and return the child's peak RSS in MB."""
    wrapper = ('import resource, subprocess, sys; '
               'subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); '
               'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
    out = subprocess.run([sys.executable, '-c', wrapper, *cmd], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1024)
    args = parser.parse_args()
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_ext  # noqa: F401
    from mmseg_ext.datasets.phantoms import make_phantoms
    init_default_scope('mmseg')
    tmp = tempfile.mkdtemp()
    config = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')
    ckpt = osp.join(tmp, 'random.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(config).model).state_dict(),
                'meta': {}}, ckpt)
    roots = {}
    for n in (4, 16):
        roots[n] = osp.join(tmp, f'n{n}')
        make_phantoms(roots[n], num_ids=0, size=args.size, seed=0, num_test_ids=n // 2)
    print(f'peak RSS of tools/ensemble.py, {args.size}² images:')
    for k, n in [(1, 4), (3, 4), (3, 16)]:
        cmd = [sys.executable, 'tools/ensemble.py', '--image-root',
               osp.join(roots[n], 'test', 'DCM'), '--submission', osp.join(tmp, f'{k}_{n}.csv')]
        for _ in range(k):
            cmd += ['--model', f'{config}:{ckpt}']
        print(f'  K={k} N={n:>2}: {peak_rss_mb(cmd):7.0f} MB')


if __name__ == '__main__':
    main()
