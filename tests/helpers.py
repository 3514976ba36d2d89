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
    environment = dict(env or os.environ)
    environment.update({k: str(v) for k, v in (extra_env or {}).items()})
    proc = subprocess.run([interpreter or sys.executable, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


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
