"""Small runner configs on phantoms for tests (CPU, seconds)."""
import copy
import os.path as osp

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo', 'hrnet_w18_phantom_cpu.py')

TINY_HRNET_EXTRA = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                num_channels=(16, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(1, 1),
                num_channels=(8, 16)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC', num_blocks=(1, 1, 1),
                num_channels=(8, 16, 32)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC', num_blocks=(1, 1, 1, 1),
                num_channels=(8, 16, 32, 64)))


def _set_scale(pipeline, scale):
    for step in pipeline:
        if step['type'] == 'Resize':
            step['scale'] = scale
        for sub in step.get('transforms', []):
            _set_scale(sub if isinstance(sub, list) else [sub], scale)


def tiny_config(phantom_root: str, work_dir: str, max_iters: int = 2, scale=(64, 64),
                test_scale=None) -> Config:
    """The demo config shrunk: tiny HRNet, 64 px, 2 iterations, no workers."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.work_dir = work_dir
    cfg.model.backbone.extra = copy.deepcopy(TINY_HRNET_EXTRA)
    cfg.model.decode_head.in_channels = [8, 16, 32, 64]
    cfg.model.decode_head.channels = 120
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
        _set_scale(loader.dataset.pipeline, scale)
        if name != 'train_dataloader' and test_scale:
            _set_scale(loader.dataset.pipeline, test_scale)
        split = 'test' if name == 'test_dataloader' else 'train'
        loader.dataset.data_root = osp.join(phantom_root, split)
    for name in ('train_pipeline', 'val_pipeline', 'test_pipeline', 'tta_pipeline'):
        _set_scale(cfg[name], test_scale if test_scale and name != 'train_pipeline' else scale)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, begin=0,
                                end=max_iters, eta_min=1e-5)]
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


def file_times(folder) -> dict:
    """``{file name: modification time (ns)}`` of the files in ``folder``."""
    import os
    return {f: os.stat(osp.join(folder, f)).st_mtime_ns for f in os.listdir(folder)
            if osp.isfile(osp.join(folder, f))}


def kfold_config(phantom_root: str, folder, max_iters: int, scale=(64, 64),
                 name: str = 'tiny.py') -> str:
    """The tiny config for ``tools/kfold.py``, dumped in ``folder`` (a ``pathlib.Path``): its
    data roots point nowhere (only ``--data-root`` can work), a checkpoint every iteration
    (2 kept), validation halfway and at the end, INFO log, threshold 0.35 (a few iterations
    give probabilities below 0.5: the masks are then not all empty)."""
    cfg = tiny_config(phantom_root, str(folder / 'unused'), max_iters=max_iters, scale=scale)
    cfg.model.test_cfg.threshold = 0.35
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = '/nonexistent/train'
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    cfg.train_cfg.val_interval = max_iters // 2
    cfg.log_level = 'INFO'
    path = str(folder / name)
    cfg.dump(path)
    return path


# The test running now (tests/conftest.py sets it before each test's setup): its id and
# whether it is marked ``slow``. Outside a test (a script importing this module) all is allowed.
RUNNING = dict(nodeid=None, slow=True)


def require_slow(what: str) -> None:
    """Fail the running test unless it is marked ``slow``: it ``what`` (trains, or starts a
    tool process), which ``pytest -m 'not slow'`` (the fast tier) must not do.

    Args:
        what (str): What the test does, for the message.
    """
    if not RUNNING['slow']:
        import pytest
        pytest.fail(f'{RUNNING["nodeid"]} {what} but is not marked slow: add '
                    '@pytest.mark.slow (tests that train or start a process are slow; '
                    "pytest -m 'not slow' is the fast tier, see tests/conftest.py)",
                    pytrace=False)


def run_tool(*args, env=None, extra_env=None, interpreter=None, cwd=REPO_ROOT, check=True,
             timeout=1200):
    """Run ``python tools/...`` (or ``bash tools/*.sh``) from the checkout; return the
    finished process (``stdout`` and ``stderr`` as text).

    The one way tests run the project's tools as a user does.

    Args:
        *args: The script and its arguments.
        env (dict, optional): Environment; defaults to this process's.
        extra_env (dict, optional): Variables set on top of ``env`` (e.g. ``PORT``).
        interpreter (str, optional): Program that runs the script, e.g. ``'bash'``;
            defaults to this Python.
        cwd (str): Working directory; defaults to the checkout.
        check (bool): Assert a zero exit status (with the output's tail).
        timeout (int): Seconds.
    """
    import os
    import subprocess
    import sys
    require_slow(f'runs {" ".join(str(a) for a in args[:1])} in a process (run_tool)')
    environment = dict(env or os.environ)
    environment.update({k: str(v) for k, v in (extra_env or {}).items()})
    proc = subprocess.run([interpreter or sys.executable, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# Runs in the child of run_tool_cases: each case through runpy as __main__, its output
# captured; SystemExit and uncaught exceptions end the case as they would end the process.
_CASES_CHILD = r'''
import contextlib, io, json, runpy, sys, traceback
results = []
for script, *args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [script] + args
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(script, run_name='__main__')
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
            if exit.code is not None and not isinstance(exit.code, int):
                print(exit.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append([code, out.getvalue(), err.getvalue()])
sys.__stdout__.write('\nRUN_TOOL_CASES ' + json.dumps(results) + '\n')
'''


def run_tool_cases(*cases, env=None, cwd=REPO_ROOT, timeout=600) -> list:
    """Run ``python SCRIPT ARGS...`` for each case ``[SCRIPT, ARGS...]`` in one process (the
    imports paid once), each case as the script's ``__main__`` through ``runpy``: for
    inputs a tool must refuse, where each case ends before any real work.

    Args:
        *cases (list): ``[script, arg, ...]`` of each run; the script relative to ``cwd``
            or absolute.
        env (dict, optional): Environment; defaults to this process's.
        cwd (str): Working directory; defaults to the checkout.
        timeout (int): Seconds for all the cases.

    Returns:
        list: One ``SimpleNamespace(returncode, stdout, stderr)`` per case, as the process
        would have ended: ``sys.exit(message)`` prints the message on stderr (status 1), an
        uncaught exception its traceback (status 1).
    """
    import json
    from types import SimpleNamespace
    proc = run_tool('-c', _CASES_CHILD, json.dumps([[str(a) for a in c] for c in cases]),
                    env=env, cwd=cwd, timeout=timeout, check=False)
    marker = [line for line in proc.stdout.splitlines() if line.startswith('RUN_TOOL_CASES ')]
    assert proc.returncode == 0 and marker, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [SimpleNamespace(returncode=code, stdout=out, stderr=err)
            for code, out, err in json.loads(marker[-1][len('RUN_TOOL_CASES '):])]


def box_vs_full_plane(members, image_paths, rule, weightings) -> tuple:
    """(pixels differing, foreground pixels) of ``ensemble_masks`` against the full-plane
    ``rule(ensemble_probs(...))`` over the images and class weightings; a differing pixel
    whose full-plane probability is not within 1e-6 of its threshold fails at once."""
    from mmseg_ext.apis.ensemble import ensemble_masks, ensemble_probs
    differing, foreground = 0, 0
    for path in image_paths:
        for class_weights in weightings:
            probs = ensemble_probs(members, path, class_weights)
            expected = rule(probs)
            got = ensemble_masks(members, path, rule, class_weights)
            near = (probs - rule.thresholds(probs.shape[0])).abs() <= 1e-6
            assert not ((got != expected) & ~near).any(), path
            differing += int((got != expected).sum())
            foreground += int(expected.sum())
    return differing, foreground
