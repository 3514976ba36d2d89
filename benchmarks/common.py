"""Timing helpers: both sides are measured alternately in one run."""
import time
from typing import Callable, Dict


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


def run_child(script: str, *args) -> dict:
    """Run ``python script --child ARGS`` in a fresh process; return its ``RESULT {json}``
    line (a fresh process per measurement: its peak RSS is its own)."""
    import json
    import os.path as osp
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, script, '--child', *map(str, args)],
                          capture_output=True, text=True, cwd=osp.dirname(osp.dirname(script)))
    if proc.returncode != 0:
        raise RuntimeError(f'{osp.basename(script)} {args} failed:\n{proc.stderr[-3000:]}')
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')][-1]
    return json.loads(line[len('RESULT '):])
