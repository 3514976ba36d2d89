"""tools/gpu_check.sh end to end, on the CPU here (on a GPU it adds --amp)."""
import re
import sys

from tests.helpers import run_tool


def test_gpu_check_runs_and_device_rle_matches(tmp_path):
    # the 2-process branch too (on a GPU machine it runs with two GPUs); one thread per
    # process on both sides, as torchrun sets, so the CSV bytes compare equal
    proc = run_tool('tools/gpu_check.sh', str(tmp_path / 'check'), interpreter='bash',
                    extra_env=dict(PYTHON=sys.executable, GPU_CHECK_DIST='1',
                                   OMP_NUM_THREADS='1'), timeout=900)
    assert re.search(r'^device: (CPU|.*compute capability)', proc.stdout, re.M)
    assert re.search(r'gpu_check: device \w+; training [0-9.]+ it/s', proc.stdout)
    assert re.search(r'RLE of 58 rows on \w+ \(torch path\) vs numpy path: 0 differ',
                     proc.stdout)
    assert 'OK: 2 images, 58 rows' in proc.stdout
    assert '2-process dist_test.sh wrote the same CSV bytes as 1 process' in proc.stdout
    assert re.search(r'full-size HRNet-W48 \(1024 input, batch 2\), 1 iterations: [0-9.]+ it/s',
                     proc.stdout)
