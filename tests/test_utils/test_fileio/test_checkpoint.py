import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg_ext.utils.fileio.checkpoint import (UnsafeCheckpointError,
                                               allow_mmengine_checkpoint_globals)
from tests.helpers import tiny_config


class _Planted:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker, ))


@pytest.mark.slow
def test_runner_checkpoint_loads_with_weights_only(phantom_root, tmp_path):
    cfg = tiny_config(phantom_root, str(tmp_path / 'run'))
    Runner.from_cfg(cfg).train()
    ckpt_path = tmp_path / 'run' / 'iter_2.pth'
    checkpoint = _load_checkpoint(str(ckpt_path))
    assert checkpoint['meta']['iter'] == 2
    # The file really holds types that plain weights_only loading refuses.
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer|getattr|numpy'):
            torch.load(str(ckpt_path), weights_only=True)
    finally:
        allow_mmengine_checkpoint_globals()


@pytest.mark.slow
def test_resume_continues_from_checkpoint(phantom_root, tmp_path):
    work_dir = str(tmp_path / 'run')
    Runner.from_cfg(tiny_config(phantom_root, work_dir, max_iters=2)).train()
    cfg = tiny_config(phantom_root, work_dir, max_iters=4)
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    assert os.path.isfile(os.path.join(work_dir, 'iter_4.pth'))
    resumed = _load_checkpoint(os.path.join(work_dir, 'iter_4.pth'))
    assert resumed['meta']['iter'] == 4
    assert 'optimizer' in resumed and 'param_schedulers' in resumed


@pytest.mark.slow
def test_load_from_runs_test(phantom_root, tmp_path):
    work_dir = str(tmp_path / 'run')
    Runner.from_cfg(tiny_config(phantom_root, work_dir)).train()
    cfg = tiny_config(phantom_root, work_dir)
    cfg.load_from = os.path.join(work_dir, 'iter_2.pth')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    metrics = Runner.from_cfg(cfg).test()
    assert 0.0 <= metrics['mDice'] <= 1.0


def test_planted_function_call_is_refused(tmp_path):
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': _Planted(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'evil\.pth'):
        _load_checkpoint(path)
    assert not os.path.exists(marker)


def test_numpy_payload_allowed(tmp_path):
    path = str(tmp_path / 'np.pth')
    torch.save({'meta': {'seed': np.int64(3), 'arr': np.arange(3, dtype=np.float32),
                         'f': np.float64(0.5)}}, path)
    loaded = _load_checkpoint(path)
    assert loaded['meta']['seed'] == 3 and loaded['meta']['arr'].tolist() == [0, 1, 2]


def test_getattr_is_limited_to_history_buffer_methods():
    from mmengine.logging.history_buffer import HistoryBuffer

    from mmseg_ext.utils.fileio.checkpoint import history_buffer_getattr
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__init__'), (os, 'system'), (HistoryBuffer, 'nope')]:
        with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
            history_buffer_getattr(obj, name)


def test_empty_array_and_empty_history_buffer_reload(tmp_path):
    """A fresh HistoryBuffer holds empty arrays: pickled as the call ``bytes()``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    path = str(tmp_path / 'empty.pth')
    torch.save({'meta': {'arr': np.zeros((0, 3), np.float32), 'buffer': HistoryBuffer()},
                'state_dict': {}}, path)
    loaded = _load_checkpoint(path)
    assert loaded['meta']['arr'].shape == (0, 3)
    assert len(loaded['meta']['buffer'].data[0]) == 0


class _BigBytes:
    def __reduce__(self):
        return (bytes, (10**6, ))


def test_bytes_with_arguments_is_refused(tmp_path):
    path = str(tmp_path / 'bytes.pth')
    torch.save({'meta': _BigBytes()}, path)
    with pytest.raises(UnsafeCheckpointError, match=r'bytes\.pth'):
        _load_checkpoint(path)
