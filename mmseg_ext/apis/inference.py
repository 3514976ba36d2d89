"""Segmentors from their configs and checkpoints, for the tools, the ensemble and export."""
from typing import Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmseg.apis import init_model
from mmseg.registry import DATASETS

from mmseg_ext.utils.runtime.launch import read_config


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
            as the data flags (:func:`~mmseg_ext.utils.runtime.launch.read_config`).
    """
    if isinstance(config, str):
        config, cfg_options = read_config(config, cfg_options), None
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    return init_model(config, checkpoint, device=device, cfg_options=cfg_options)


def init_model_and_dataset(config: str, checkpoint: str, split: str = 'val',
                           device: Optional[str] = None,
                           cfg_options: Optional[dict] = None,
                           **data) -> Tuple[torch.nn.Module, object]:
    """Build a segmentor from a checkpoint and one of the config's datasets.

    Args:
        config (str): Config file.
        checkpoint (str): Checkpoint file (loaded with weights_only).
        split (str): 'train', 'val' or 'test': whose dataloader's dataset.
        device (str, optional): Defaults to 'cuda' when available, else 'cpu'.
        cfg_options (dict, optional): ``--cfg-options`` (data keys act as the data flags:
            :func:`~mmseg_ext.utils.runtime.launch.read_config`).
        **data: ``data_root``, ``test_root``, ``fold``, ``num_folds`` (None: the config's),
            as the tools' data flags.

    Returns:
        tuple: The model (eval mode) and the dataset.
    """
    cfg = read_config(config, cfg_options, **{k: v for k, v in data.items() if v is not None})
    model = build_model(cfg, checkpoint, device)
    return model, DATASETS.build(cfg[f'{split}_dataloader'].dataset)
