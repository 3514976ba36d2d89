"""tools/gpu_check.sh: its steps, in order and with their flags, on a CPU and on a machine
with two GPUs (a stand-in Python records them); and its closing report on a trained run.

The steps themselves are the tools other tests run: training (``tiny_run``), tools/test.py
submissions, the checker, 2-process dist_test.sh with the same CSV bytes
(test_distributed.py), full-size training (test_fullsize_rehearsal.py), the device report
(test_device_checks.py).
"""
import os
import re
import shlex

import pytest

from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # bash tools/gpu_check.sh and the report tool

# Stands in for $PYTHON: records each command, answers the GPU count query, and writes the
# same bytes to every --submission (the script compares two of them); runs nothing else.
STANDIN_PYTHON = r'''#!/bin/bash
printf '%s\n' "$*" >> "$STANDIN_LOG"
[ "$1" = -c ] && echo "$STANDIN_GPUS"
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = --submission ]; then
    mkdir -p "$(dirname "${args[$((i + 1))]}")"
    echo 'image_name,class,rle' > "${args[$((i + 1))]}"
  fi
done
exit 0
'''
DEMO = 'configs/demo/hrnet_w18_phantom_cpu.py'
W48 = 'configs/hrnet/hrnet_w48_hand.py'
PER_ITER = 'default_hooks.logger.interval=1 log_processor.window_size=1'


def _gpu_check(tmp_path, gpus, **env):
    """``bash tools/gpu_check.sh W`` with the stand-in Python seeing ``gpus`` GPUs:
    (stdout, [each command it ran, W for the work dir])."""
    tmp_path.mkdir(exist_ok=True)
    standin = tmp_path / 'python'
    standin.write_text(STANDIN_PYTHON)
    standin.chmod(0o755)
    log, work = tmp_path / 'commands.log', str(tmp_path / 'check')
    proc = run_tool('tools/gpu_check.sh', work, interpreter='bash', timeout=120,
                    extra_env=dict(env, PYTHON=standin, STANDIN_LOG=log, STANDIN_GPUS=gpus))
    return proc.stdout, [line.replace(work, 'W') for line in log.read_text().splitlines()]


def _expected_cpu_commands(dist):
    launch = ('-m torch.distributed.run --nnodes=1 --node_rank=0 --master_addr=127.0.0.1 '
              '--nproc_per_node=2 --master_port=29500 ')
    test_args = f'{DEMO} W/train/iter_20.pth'
    return [
        '-m mmseg_ext.utils.runtime.device_report',
        'tools/dataset_converters/make_phantoms.py W/data --num-ids 5 --size 512 --seed 0',
        'GPU count',
        f'tools/train.py {DEMO} --work-dir W/train --data-root W/data/train --cfg-options '
        f'train_cfg.max_iters=20 train_cfg.val_interval=20 {PER_ITER} '
        'default_hooks.checkpoint.interval=20',
        f'tools/test.py {test_args} --work-dir W/test --submission W/submission.csv '
        '--data-root W/data/test',
        'tools/analysis_tools/check_submission.py W/submission.csv W/data/test/DCM',
    ] + ([
        f'{launch}TOOLS/test.py {test_args} --work-dir W/test2 --submission '
        'W/submission_2proc.csv --data-root W/data/test --launcher pytorch',
    ] if dist else []) + [
        'tools/dataset_converters/make_phantoms.py W/data2048 --num-ids 5 --size 2048 --seed 0 '
        '--num-test-ids 0',
        f'tools/train.py {W48} --work-dir W/w48 --data-root W/data2048/train --cfg-options '
        f'{PER_ITER} default_hooks.checkpoint.save_last=False expected_device=cpu '
        'train_cfg.max_iters=1 train_cfg.val_interval=1000',
        'tools/analysis_tools/gpu_check_report.py W/train W/submission.csv W/data/test/DCM '
        '--fullsize-work-dir W/w48',
    ]


def _normalised(commands):
    """The GPU count query named, dist_launch.sh's absolute tools folder as TOOLS."""
    from tests.conftest import REPO_ROOT
    return ['GPU count' if c.startswith('-c ') else c.replace(f'{REPO_ROOT}/tools/', 'TOOLS/')
            for c in commands]


def test_gpu_check_steps_on_a_cpu(tmp_path):
    out, commands = _gpu_check(tmp_path, 0, GPU_CHECK_DIST='1')
    assert _normalised(commands) == _expected_cpu_commands(dist=True)
    assert '2-process dist_test.sh wrote the same CSV bytes as 1 process' in out
    assert re.findall(r'=== gpu_check step (\d)/7', out) == [str(i) for i in range(1, 8)]
    out, commands = _gpu_check(tmp_path / 'no_dist', 0)  # one CPU process: no dist_test.sh
    assert _normalised(commands) == _expected_cpu_commands(dist=False)
    assert 'gpu_check: skipped (fewer than two GPUs)' in out


def test_gpu_check_steps_with_two_gpus(tmp_path):
    """--amp for both trainings, 10 full-size iterations on the GPU, 2 processes."""
    _, commands = _gpu_check(tmp_path, 2)
    expected = _expected_cpu_commands(dist=True)
    expected[3] = expected[3].replace('--work-dir W/train', '--work-dir W/train --amp')
    expected[-2] = expected[-2].replace('--work-dir W/w48', '--work-dir W/w48 --amp').replace(
        ' expected_device=cpu train_cfg.max_iters=1 ', ' train_cfg.max_iters=10 ')
    assert _normalised(commands) == expected


def test_gpu_check_flags_are_the_tools(tmp_path):
    """Every --flag the script gives a tool is in that tool's --help."""
    from tests.test_docs import _helps
    _, commands = _gpu_check(tmp_path, 2)
    helps = _helps()
    checked = 0
    for command in _normalised(commands):
        words = shlex.split(command)
        scripts = [w for w in words if w.endswith('.py')]
        if not scripts:
            continue
        script = scripts[0].replace('TOOLS/', 'tools/')
        for flag in (w.split('=')[0] for w in words[words.index(scripts[0]) + 1:]
                     if w.startswith('--')):
            assert re.search(rf'(?<![\w-]){re.escape(flag)}(?![\w-])', helps[script]), \
                f'{script} {flag}'
            checked += 1
    assert checked >= 15


def test_gpu_check_report_on_a_trained_run(tiny_run, tiny_submission, phantom_root):
    """The closing report on ``tiny_run`` (100 iterations, each logged) and its submission:
    speed, no peak memory on a CPU, every device-path RLE equal to the numpy path's."""
    train_dir = os.path.dirname(tiny_run[1])
    proc = run_tool('tools/analysis_tools/gpu_check_report.py', train_dir, tiny_submission[0],
                    os.path.join(phantom_root, 'test', 'DCM'), '--fullsize-work-dir',
                    train_dir, extra_env=dict(CUDA_VISIBLE_DEVICES=''))
    assert re.search(r'^gpu_check: device cpu; training [0-9.]+ it/s; peak GPU memory n/a on a '
                     r'CPU$', proc.stdout, re.M), proc.stdout
    assert re.search(r'full-size HRNet-W48 \(1024 input, batch 2\), 100 iterations: [0-9.]+ '
                     r'it/s, [0-9.]+ s/iter waiting for data', proc.stdout), proc.stdout
    assert 'gpu_check: RLE of 58 rows on cpu (torch path) vs numpy path: 0 differ' in proc.stdout
