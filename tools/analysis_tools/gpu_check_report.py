"""The closing part of ``tools/gpu_check.sh``: speed, peak memory, device RLE == CPU RLE.

``python tools/analysis_tools/gpu_check_report.py TRAIN_WORK_DIR SUBMISSION_CSV IMAGE_ROOT
[--fullsize-work-dir W48_WORK_DIR]``
"""
import argparse
import glob
import json
import os.path as osp
import sys

import numpy as np
import torch

from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.fileio.xray_io import read_xray_shape
from mmseg_ext.utils.formats.rle import rle_decode, rle_encode_batch
from mmseg_ext.utils.formats.submission import read_submission_images


def training_speed(work_dir: str) -> dict:
    """Iterations per second and seconds waiting for data (logged iterations after the first),
    and peak memory (MB)."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'{work_dir}: no */vis_data/scalars.json training log')
    with open(logs[-1]) as f:
        entries = [json.loads(line) for line in f if '"loss' in line]
    steady = entries[1:] or entries
    memory = [e['memory'] for e in entries if 'memory' in e]
    return dict(it_per_s=1.0 / float(np.mean([e['time'] for e in steady])),
                data_s=float(np.mean([e['data_time'] for e in steady])),
                iters=len(entries), peak_memory_mb=max(memory, default=None))


def memory_text(speed: dict) -> str:
    return (f'{speed["peak_memory_mb"]} MB (torch.cuda.max_memory_allocated)'
            if speed['peak_memory_mb'] is not None else 'n/a on a CPU')


def device_rle_mismatches(csv_path: str, image_root: str, device: torch.device) -> tuple:
    """Re-encode every mask of the CSV through the device path; count rows that differ."""
    paths = image_paths_by_name(image_root)
    rows = mismatches = 0
    for name, rles in read_submission_images(csv_path):
        shape = read_xray_shape(paths[name])
        masks = torch.from_numpy(np.stack([rle_decode(rle, shape) for rle in rles]))
        device_rles = rle_encode_batch(masks.to(device), device_path=True)
        cpu_rles = rle_encode_batch(masks.numpy())
        mismatches += sum(a != b or a != r for a, b, r in zip(device_rles, cpu_rles, rles))
        rows += len(rles)
    return rows, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('train_work_dir')
    parser.add_argument('submission')
    parser.add_argument('image_root')
    parser.add_argument('--fullsize-work-dir', help='work dir of the full-size W48 steps')
    args = parser.parse_args()
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    speed = training_speed(args.train_work_dir)
    rows, mismatches = device_rle_mismatches(args.submission, args.image_root, device)
    print(f'gpu_check: device {device}; training {speed["it_per_s"]:.2f} it/s; '
          f'peak GPU memory {memory_text(speed)}')
    if args.fullsize_work_dir:
        full = training_speed(args.fullsize_work_dir)
        print(f'gpu_check: full-size HRNet-W48 (1024 input, batch 2), {full["iters"]} '
              f'iterations: {full["it_per_s"]:.2f} it/s, {full["data_s"]:.3f} s/iter waiting '
              f'for data; peak GPU memory {memory_text(full)}')
    print(f'gpu_check: RLE of {rows} rows on {device} (torch path) vs numpy path: '
          f'{mismatches} differ')
    if mismatches:
        sys.exit(1)


if __name__ == '__main__':
    main()
