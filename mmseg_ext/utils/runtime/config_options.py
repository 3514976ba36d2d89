"""Data roots and folds set on every dataloader, and top-level overrides that would be ignored.

A config's top-level variables (``data_root``, ``fold``, ``img_scale`` ...) are
copied into the dataloader dicts when the file is parsed, so
``--cfg-options data_root=X`` changes the variable and nothing that reads it.
:func:`split_cfg_options` takes the data keys out of ``--cfg-options`` so they
act exactly like the ``--data-root``/``--fold``/``--folds``/``--split-file`` flags
(:func:`apply_data_options`), and stops on any other top-level key that no
part of the run reads, naming the flag or dotted key to use.
"""
import difflib
import os.path as osp
from typing import Any, Dict, Optional, Sequence, Tuple

from mmengine.config import Config

# Top-level keys that mmengine's Runner, mmseg and this package's tools read at run time.
RUNTIME_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'model_wrapper_cfg', 'sync_bn',
    'find_unused_parameters', 'activation_checkpointing', 'efficient_conv_bn_eval', 'compile',
    'tta_model', 'tta_pipeline', 'expected_device'))
# Top-level data variables -> the flag that sets them on every dataloader.
DATA_FLAGS = {'data_root': '--data-root', 'test_root': '--data-root (tools/test.py)',
              'fold': '--fold', 'num_folds': '--folds', 'split_file': '--split-file'}
TRAINING_LOADERS = ('train_dataloader', 'val_dataloader')


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key or data flag that cannot take effect."""


def split_cfg_options(cfg: Config, options: Optional[Dict[str, Any]]
                      ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Split ``--cfg-options`` into (data options, options to merge).

    Raises:
        ConfigOptionError: A top-level key that nothing reads at run time
            (a variable already copied where the file was parsed, or a typo).
    """
    data, merge = {}, {}
    for key, value in (options or {}).items():
        top = key.split('.')[0]
        if key in DATA_FLAGS:
            data[key] = value
        elif top in RUNTIME_KEYS:
            merge[key] = value
        else:
            raise ConfigOptionError(_ignored_key_message(cfg, key))
    return data, merge


def _ignored_key_message(cfg: Config, key: str) -> str:
    top = key.split('.')[0]
    if top in cfg:
        return (f'--cfg-options {key}=...: {top!r} is a variable of {cfg.filename}, copied into '
                f'the settings that use it when the file was read, so overriding it changes '
                f'nothing. Override those settings with dotted keys (e.g. '
                f'train_dataloader.dataset.<key>=...) or edit the config.')
    near = difflib.get_close_matches(top, sorted(RUNTIME_KEYS | set(DATA_FLAGS)), n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ''
    return f'--cfg-options {key}=...: no part of the run reads a top-level {top!r}{hint}'


def _datasets(cfg: Config, loaders) -> list:
    found = []
    for name in loaders:
        loader = cfg.get(name)
        if loader and loader.get('dataset') is not None:
            found.append(loader['dataset'])
    return found


def check_data_root(root: str, flag: str = '--data-root', labels: bool = True) -> None:
    """Stop when ``root`` lacks ``DCM/`` (or, with ``labels``, ``outputs_json/``)."""
    needed = ('DCM', 'outputs_json') if labels else ('DCM', )
    for sub in needed:
        if not osp.isdir(osp.join(root, sub)):
            raise ConfigOptionError(
                f'{flag} {root}: no {sub}/ folder there (a data root holds DCM/IDxxx/*.png|*.dcm'
                f'{" and outputs_json/IDxxx/*.json" if labels else ""})')


def apply_data_options(cfg: Config, data_root: Optional[str] = None,
                       test_root: Optional[str] = None, fold: Optional[int] = None,
                       num_folds: Optional[int] = None, split_file: Optional[str] = None,
                       check_roots: bool = True) -> None:
    """Set data roots, the fold and the split file on every dataloader that reads them.

    Args:
        cfg (Config): The config, changed in place (its top-level variables too,
            so the dumped config says what ran).
        data_root (str, optional): Training data root: train and val loaders.
        test_root (str, optional): Test images root: the test loader.
        fold (int, optional): Validation fold of the train and val loaders.
        num_folds (int, optional): Number of GroupKFold folds.
        split_file (str, optional): Split file of the train and val loaders
            (``HandBoneDataset``'s ``split_file``), made absolute.
        check_roots (bool): Stop when a given root lacks its folders.

    Raises:
        ConfigOptionError: A root without ``DCM/`` (or ``outputs_json/`` for
            training), or a fold outside ``0..num_folds-1``.
    """
    if data_root is not None:
        if check_roots:
            check_data_root(data_root)
        _set(cfg, TRAINING_LOADERS, 'data_root', data_root)
    if test_root is not None:
        if check_roots:
            check_data_root(test_root, labels=False)
        _set(cfg, ('test_dataloader', ), 'test_root', test_root, field='data_root')
    if num_folds is not None:
        if int(num_folds) < 2:
            raise ConfigOptionError(f'--folds {num_folds}: needs at least 2 folds')
        _set(cfg, TRAINING_LOADERS, 'num_folds', int(num_folds))
    if fold is not None:
        _set(cfg, TRAINING_LOADERS, 'fold', int(fold))
    if split_file is not None:
        if not osp.isfile(split_file):
            raise ConfigOptionError(f'--split-file {split_file}: no such file')
        _set(cfg, TRAINING_LOADERS, 'split_file', osp.abspath(split_file))
    for dataset in _datasets(cfg, TRAINING_LOADERS):
        k, n = dataset.get('fold'), dataset.get('num_folds', 5)
        if k is not None and not 0 <= int(k) < int(n):
            raise ConfigOptionError(f'--fold {k}: outside 0..{int(n) - 1} (--folds {n})')


def _set(cfg: Config, loaders, variable: str, value, field: Optional[str] = None) -> None:
    cfg[variable] = value
    for dataset in _datasets(cfg, loaders):
        dataset[field or variable] = value


def follow_max_iters(cfg: Config, written_for: Sequence[int] = ()) -> None:
    """Move the schedule's end to ``train_cfg.max_iters`` where the config changed it.

    ``end=max_iters`` is resolved when the schedule file is parsed, so a new
    ``train_cfg.max_iters`` (``--cfg-options`` or a child config) would leave every
    scheduler ending at the old value. Each scheduler that ended at a value the
    schedule was written for (the config's top-level ``max_iters``, and
    ``written_for``) ends at the new one; any other scheduler that would pass the new
    end (a warm-up) is clipped to it, and one that would begin at or after it is
    dropped (it could never act). ``cfg.max_iters`` becomes the new value.

    Args:
        cfg (Config): The config, changed in place.
        written_for (Sequence[int]): Other ``max_iters`` the schedule was written for
            (``train_cfg.max_iters`` before ``--cfg-options`` were merged).
    """
    loop = cfg.get('train_cfg') or {}
    if loop.get('max_iters') is None or cfg.get('param_scheduler') is None:
        return
    new_end = int(loop['max_iters'])
    old_ends = {int(v) for v in (cfg.get('max_iters'), *written_for) if v is not None}
    old_ends.discard(new_end)
    if not old_ends:
        return
    schedulers = cfg.param_scheduler
    single = not isinstance(schedulers, (list, tuple))
    kept = []
    for scheduler in [schedulers] if single else schedulers:
        if scheduler.get('by_epoch', True) or scheduler.get('end') is None:
            kept.append(scheduler)
            continue
        if int(scheduler['end']) in old_ends or int(scheduler['end']) > new_end:
            scheduler['end'] = new_end
        if int(scheduler.get('begin', 0)) < int(scheduler['end']):
            kept.append(scheduler)
    cfg.param_scheduler = kept[0] if single and kept else kept
    if 'max_iters' in cfg:
        cfg.max_iters = new_end
