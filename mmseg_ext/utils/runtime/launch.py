"""Helpers shared by the tools: arguments, config reading, launchers."""
import os
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config

from .config_options import (DATA_FLAGS, ConfigOptionError, apply_data_options, follow_max_iters,
                             split_cfg_options)


def prepare_launcher(cfg: Config, launcher: str) -> None:
    """Record the launcher; on a machine without CUDA, start a gloo group.

    mmengine's own ``init_dist('pytorch')`` calls ``torch.cuda.set_device``
    and fails on a CPU. With a process group already started the Runner skips
    its own initialisation, and ``device_ids=None`` makes DDP run on the CPU.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} needs GPUs; on a CPU use --launcher pytorch')
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.env_cfg = {**cfg.get('env_cfg', {}), 'dist_cfg': dict(backend='gloo')}
    cfg.sync_bn = None  # torch's SyncBatchNorm runs on GPUs only
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)


def check_checkpoint_readable(checkpoint: str) -> None:
    """Fail now, not after building the model, when a local checkpoint cannot be opened."""
    if '://' in checkpoint:
        return  # a URL: mmengine fetches it
    try:
        with open(checkpoint, 'rb') as f:
            f.read(1)
    except OSError as err:
        raise FileNotFoundError(f'{checkpoint}: cannot read the checkpoint ({err})') from err


def set_local_rank_env(local_rank: int) -> None:
    """``torch.distributed.launch`` passes --local-rank; mmengine reads LOCAL_RANK."""
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def add_common_args(parser) -> None:
    """Arguments shared by tools/train.py and tools/test.py (as in mmseg's tools)."""
    from mmengine.config import DictAction
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value (data_root, '
                        'test_root, fold, num_folds and split_file act as the data flags)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_data_args(parser, training: bool = True) -> None:
    """``--data-root`` (and, for training, ``--fold``/``--folds``/``--split-file``)."""
    if training:
        parser.add_argument('--data-root', help='training data: DIR/DCM/IDxxx/*.png|*.dcm and '
                            'DIR/outputs_json/IDxxx/*.json (default: the config\'s)')
        parser.add_argument('--fold', type=int, help='validation fold (GroupKFold by IDxxx)')
        parser.add_argument('--folds', type=int, help='number of folds (default: the config\'s)')
        parser.add_argument('--split-file', help='JSON split file (one {"train": [keys], '
                            '"val": [keys]} per fold, as tools/kfold.py writes '
                            'WORK_DIR/splits.json): the folds come from it')
    else:
        parser.add_argument('--data-root', help='test images: DIR/DCM/IDxxx/*.png|*.dcm '
                            '(default: the config\'s test_root)')


def load_config(args, training: bool = True) -> Config:
    """Read ``args.config``; apply ``--cfg-options``, the data flags, the launcher and
    ``--work-dir``. A data flag or ``--cfg-options`` key that cannot act ends the tool with
    the message (as argparse does for a bad argument)."""
    set_local_rank_env(args.local_rank)
    try:
        cfg = read_config(args.config, args.cfg_options, **data_flags(args, training))
    except ConfigOptionError as err:
        raise SystemExit(f'error: {err}') from None
    prepare_launcher(cfg, args.launcher)  # after the options: what a CPU launch needs wins
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def data_flags(args, training: bool = True) -> dict:
    """The data flags of parsed ``args`` as :func:`apply_data_options` keywords."""
    root = getattr(args, 'data_root', None)
    if not training:
        return dict(test_root=root)
    return dict(data_root=root, fold=getattr(args, 'fold', None),
                num_folds=getattr(args, 'folds', None),
                split_file=getattr(args, 'split_file', None))


def read_config(path: str, cfg_options: Optional[dict] = None, **data) -> Config:
    """A config with ``--cfg-options`` merged, the schedule's end following a changed
    ``train_cfg.max_iters`` (:func:`follow_max_iters`) and data roots/folds set on every
    loader.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options``; its ``data_root``,
            ``test_root``, ``fold``, ``num_folds`` and ``split_file`` act as the flags,
            any other top-level key nothing reads is an error.
        **data: ``data_root``, ``test_root``, ``fold``, ``num_folds``, ``split_file``
            from flags (None: not given).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such config file')
    cfg = Config.fromfile(path)
    from_options, merge = split_cfg_options(cfg, cfg_options)
    written_for = (cfg.get('train_cfg') or {}).get('max_iters')
    if merge:
        cfg.merge_from_dict(merge)
    follow_max_iters(cfg, [written_for] if written_for is not None else [])
    for key, value in from_options.items():
        given = data.get(key)
        if given is not None and str(given) != str(value):
            raise ConfigOptionError(f'{DATA_FLAGS[key]} {given} and --cfg-options {key}={value} '
                                    'disagree: give one')
        data[key] = value
    apply_data_options(cfg, **{k: v for k, v in data.items() if v is not None})
    return cfg


def build_model(config: Union[str, Config], checkpoint: Optional[str] = None,
                device: Optional[str] = None,
                cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """A segmentor in eval mode (``model.cfg``: its config); mmseg's ``init_model`` builds it
    in the config's default scope.

    Args:
        config (str | Config): Config file, or a config already read.
        checkpoint (str, optional): Checkpoint file (loaded with weights_only);
            None keeps the initial weights.
        device (str, optional): Defaults to 'cuda' when available, else 'cpu'.
        cfg_options (dict, optional): ``--cfg-options``; for a config file, data keys act
            as the data flags (:func:`read_config`).
    """
    from mmseg.apis import init_model
    if isinstance(config, str):
        config, cfg_options = read_config(config, cfg_options), None
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return init_model(config, checkpoint, device=device, cfg_options=cfg_options)


def predicted_classes(cfg: Config, loader: str = 'test_dataloader') -> list:
    """The class names of the model's output channels, without building anything: the
    evaluators' ``classes`` where a config names a subset (e.g. the 8 carpals of
    ``projects/wrist_roi``), else the loader's dataset's (its ``metainfo`` override, else its
    class's ``METAINFO``)."""
    from mmseg.registry import DATASETS
    for key in ('test_evaluator', 'val_evaluator'):
        evaluators = cfg.get(key) or []
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            if evaluator.get('classes'):
                return list(evaluator['classes'])
    dataset = cfg[loader].dataset
    override = (dataset.get('metainfo') or {}).get('classes')
    if override:
        return list(override)
    return list(DATASETS.get(dataset.type).METAINFO['classes'])
