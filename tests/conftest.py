import os
import os.path as osp
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmseg_ext  # noqa: E402,F401
from mmengine.registry import init_default_scope  # noqa: E402

init_default_scope('mmseg')


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory):
    """Small phantom set: 5 IDs (10 train images) + 1 test ID, 128 px."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = str(tmp_path_factory.mktemp('phantoms'))
    make_phantoms(root, num_ids=5, size=128, seed=1, num_test_ids=1)
    return root


def tool_env() -> dict:
    """Environment for running tools/ as subprocesses against this source tree."""
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env
