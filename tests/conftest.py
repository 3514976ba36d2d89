import os.path as osp

import pytest
from mmengine.registry import init_default_scope

import mmseg_ext  # noqa: F401  (the checkout's: tools/setup.sh's .pth line puts it first)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

init_default_scope('mmseg')


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory):
    """Small phantom set: 5 IDs (10 train images) + 1 test ID, 128 px."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = str(tmp_path_factory.mktemp('phantoms'))
    make_phantoms(root, num_ids=5, size=128, seed=1, num_test_ids=1)
    return root


@pytest.fixture(scope='session')
def tiny_run(phantom_root, tmp_path_factory):
    """A tiny HRNet trained for 100 iterations at 128 px (predictions are not empty),
    tested at 64 px (upsampled x2 to the 128 px originals): (config, checkpoint)."""
    from tests.helpers import run_tool, tiny_config
    tmp = tmp_path_factory.mktemp('tiny_run')
    config = str(tmp / 'tiny.py')
    cfg = tiny_config(phantom_root, str(tmp / 'work'), max_iters=100, scale=(128, 128),
                      test_scale=(64, 64))
    cfg.optim_wrapper.optimizer.lr = 5e-3
    cfg.dump(config)
    run_tool('tools/train.py', config, timeout=600)
    return config, str(tmp / 'work' / 'iter_100.pth')
