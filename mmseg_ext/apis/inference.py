"""A segmentor with one of its config's datasets, for the tools; the segmentor alone:
:func:`~mmseg_ext.utils.runtime.launch.build_model` (re-exported here)."""
from typing import Optional, Tuple

import torch
from mmseg.registry import DATASETS

from mmseg_ext.utils.runtime.launch import build_model, read_config

__all__ = ['build_model', 'init_model_and_dataset']


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
