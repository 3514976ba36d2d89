"""Peak RSS of tools/evaluate.py on N images of 2048²: streaming keeps it flat.

Writes a data root of N phantom images (a few distinct hands, their files
repeated under N names) with labels, and a submission of perturbed ground
truth, then runs ``tools/evaluate.py --out-dir`` on the first few images and
on all N in fresh processes, and ``tools/evaluate.py --help`` (the imports
alone). Prints each peak RSS and the peak minus the imports, against one
image's (29, H, W) bool masks.

    python benchmarks/evaluate_memory.py [--images 288] [--size 2048] [--distinct 4]
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def make_data(root: str, images: int, size: int, distinct: int) -> str:
    """Data root and submission CSV; returns the CSV path."""
    import cv2
    import numpy as np

    from mmseg_ext.datasets.phantoms import encode_png, render_hand
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    from mmseg_ext.utils.formats.rle import rle_encode_batch
    from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
    rng = np.random.default_rng(0)
    hands = []
    for k in range(distinct):
        img, bones = render_hand(size, rng, left=bool(k % 2))
        ann = {'annotations': [{'label': label, 'points': np.round(pts, 1).tolist()}
                               for label, pts in bones.items()]}
        index = {c: i for i, c in enumerate(HAND_BONE_CLASSES)}
        polygons = [(index[label], pts.astype(np.float32)) for label, pts in bones.items()]
        masks = unpack_bits(rasterize_bitmask(polygons, (size, size)), len(HAND_BONE_CLASSES))
        for c in range(masks.shape[0]):  # a prediction: dilated, some bones shifted
            plane = cv2.dilate(masks[c].astype(np.uint8), np.ones((3, 3), np.uint8))
            masks[c] = np.roll(plane, c % 3, axis=1) > 0
        hands.append((encode_png(img), json.dumps(ann), rle_encode_batch(masks)))
    csv_path = osp.join(root, 'submission.csv')
    with open(csv_path, 'w') as f:
        f.write('image_name,class,rle\n')
        for i in range(images):
            png, ann, rles = hands[i % distinct]
            folder, stem = f'ID{i // 2:03d}', f'image{1661130828152 + i}'
            for sub, data, suffix in (('DCM', png, '.png'), ('outputs_json', ann, '.json')):
                os.makedirs(osp.join(root, sub, folder), exist_ok=True)
                with open(osp.join(root, sub, folder, stem + suffix),
                          'wb' if suffix == '.png' else 'w') as out:
                    out.write(data)
            for name, rle in zip(HAND_BONE_CLASSES, rles):
                f.write(f'{stem}.png,{name},{rle}\n')
    return csv_path


def head_csv(csv_path: str, images: int, classes: int = 29) -> str:
    """The first ``images`` images of a CSV."""
    out = csv_path.replace('.csv', f'_{images}.csv')
    with open(csv_path) as f, open(out, 'w') as g:
        for i, line in enumerate(f):
            if i > images * classes:
                break
            g.write(line)
    return out


def peak_rss_mb(*args) -> float:
    """Peak RSS (MB) of ``python tools/evaluate.py ARGS`` in a fresh process."""
    code = ('import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], '
            'stdout=subprocess.DEVNULL); assert p.returncode == 0, p.returncode; '
            'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
    out = subprocess.run([sys.executable, '-c', code, sys.executable,
                          osp.join(ROOT, 'tools', 'evaluate.py'), *args],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=288)
    parser.add_argument('--size', type=int, default=2048)
    parser.add_argument('--distinct', type=int, default=4)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix='evaluate_memory_')
    try:
        csv_path = make_data(tmp, args.images, args.size, args.distinct)
        masks_mb = 29 * args.size ** 2 / 2**20
        imports = peak_rss_mb('--help')
        print(f'one image\'s masks: {masks_mb:.0f} MB; peak RSS of the imports alone '
              f'(--help): {imports:.0f} MB; limit: imports + masks + 300 MB = '
              f'{imports + masks_mb + 300:.0f} MB')
        peaks = {}
        for n in sorted({min(4, args.images), args.images}):
            path = csv_path if n == args.images else head_csv(csv_path, n)
            peaks[n] = peak_rss_mb(path, '--data-root', tmp, '--out-dir',
                                   osp.join(tmp, f'out{n}'), '--no-progress')
            print(f'{n} images: peak RSS {peaks[n]:.0f} MB ({peaks[n] - imports:+.0f} MB over '
                  f'the imports\' peak)')
        print(f'growth from {min(peaks)} to {max(peaks)} images: '
              f'{peaks[max(peaks)] - peaks[min(peaks)]:+.0f} MB')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
