"""Shared by the benchmarks: timing side by side, fresh processes and their peak RSS, a
checkpoint with random weights, and a stand-in network (bone-shaped logits)."""
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs/demo/hrnet_w18_phantom_cpu.py')


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def compare(ours: Callable[[], object], reference: Callable[[], object], repeats: int = 5,
            rounds: int = 3) -> Dict[str, float]:
    """Interleave ours/reference ``rounds`` times; report the best of each and the ratio."""
    t_ours, t_ref = float('inf'), float('inf')
    for _ in range(rounds):
        t_ref = min(t_ref, best_of(reference, repeats))
        t_ours = min(t_ours, best_of(ours, repeats))
    return {'ours_s': t_ours, 'reference_s': t_ref, 'speedup': t_ref / t_ours}


def run_measured(cmd: Sequence[object]) -> Tuple[str, float]:
    """Run ``cmd`` from the repository root in a fresh process: (its stdout, its peak RSS in
    MB). The one measure of peak memory in these benchmarks: the process's own
    ``ru_maxrss``, read when it ends (``os.wait4``; its children are not counted)."""
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        proc = subprocess.Popen([str(part) for part in cmd], stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f'{" ".join(map(str, cmd))} failed:\n{err.read()[-3000:]}')
        return out.read(), usage.ru_maxrss / 1024


def run_child(script: str, *args) -> dict:
    """``python script --child ARGS`` in a fresh process: what it passed to :func:`report`,
    with ``peak_rss_mb``, the process's peak RSS."""
    out, peak = run_measured([sys.executable, script, '--child', *args])
    line = [ln for ln in out.splitlines() if ln.startswith('RESULT ')][-1]
    return dict(json.loads(line[len('RESULT '):]), peak_rss_mb=peak)


def report(**result) -> None:
    """A child's result, for :func:`run_child`."""
    print('RESULT ' + json.dumps(result), flush=True)


def current_rss_mb() -> float:
    """The process's resident memory now, in MB (Linux)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def random_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save ``config``'s model with seeded random weights at ``path`` (returned), with its
    class names in the meta as a training run saves them: speed and memory do not depend
    on the weights, and every run and backend gets the same ones."""
    import torch

    from mmseg_ext.utils.runtime.launch import build_model, predicted_classes
    torch.manual_seed(seed)
    model = build_model(config, None, device='cpu')
    meta = {'dataset_meta': {'classes': predicted_classes(model.cfg)}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return path


def bone_logits(masks, seed: int, noise: float = 0.5):
    """Logits shaped like a trained model's from (C, h, w) masks: +8 inside, -8 outside,
    smoothed over 3x3, plus seeded Gaussian noise (no exact ties at the threshold)."""
    import torch
    import torch.nn.functional as F
    planes = torch.as_tensor(masks).float()[None] * 16 - 8
    logits = F.avg_pool2d(planes, 3, stride=1, padding=1, count_include_pad=False)[0]
    generator = torch.Generator().manual_seed(seed)
    return logits + noise * torch.randn(logits.shape, generator=generator)


class StandInNetwork:
    """Stands in for a segmentor's ``inference`` and ``network_logits``: the
    :func:`bone_logits` of each image's annotation, drawn at the view's size, flip and
    padding, so that what is timed is everything after the network, on boxes the size of a
    trained model's.

    Args:
        model: The segmentor whose ``inference`` is replaced.
        polygons (dict): Image path -> ``gt_polygons`` ((class index, points) at the
            original size).
    """

    def __init__(self, model, polygons: dict) -> None:
        self.polygons = polygons
        model.inference = self
        model.network_logits = self  # the views' path asks for the logits before resizing

    def __call__(self, inputs, metas):
        import torch
        return torch.stack([self.logits(meta, tuple(inputs.shape[-2:])) for meta in metas])

    def logits(self, meta: dict, padded: Tuple[int, int]):
        """(C, *padded) logits of one view."""
        import zlib

        import numpy as np
        import torch

        from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
        from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
        from mmseg_ext.utils.postprocessing.view_geometry import padding_of
        left, _, top, _ = padding_of(meta)
        height, width = meta['img_shape'][:2]
        ori_h, ori_w = meta['ori_shape'][:2]
        scale = np.array([width / ori_w, height / ori_h])
        polygons = [(c, np.asarray(p) * scale) for c, p in self.polygons[meta['img_path']]]
        num_classes = len(HAND_BONE_CLASSES)
        masks = unpack_bits(rasterize_bitmask(polygons, (height, width)), num_classes)
        key = (meta['img_path'], height, width, bool(meta.get('flip')))
        logits = bone_logits(masks, zlib.crc32(repr(key).encode()))
        if meta.get('flip'):
            logits = logits.flip(-1)
        canvas = torch.full((num_classes, ) + padded, -8.0)
        canvas[:, top:top + height, left:left + width] = logits
        return canvas
