"""Full-size rehearsal: the shipped configs on 2048² phantoms, as a user runs them.

Each config is used unchanged but for data roots and iteration counts:
1 training iteration (1024 input, batch 2), validation at 2048², then
``tools/test.py --submission`` with that barely trained checkpoint (noisy
masks: the longest RLE fields), for the W18 config ``--tta --submission`` too
(the TTA wrapper is the same for every network), and the checker on every CSV.
A few minutes of CPU.
"""
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmseg_ext.utils.formats.submission import check_submission
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # trains the full-size configs

SIZE = 2048
ITERS = 1
ON_CPU = ('--cfg-options', 'expected_device=cpu')
# config -> whether it submits with --tta too
CONFIGS = {'configs/hrnet/hrnet_w18_hand.py': True, 'configs/smp/deeplabv3plus_r50_hand.py': False}


@pytest.fixture(scope='module')
def fullsize_phantoms(tmp_path_factory):
    """5 training IDs (10 images, fold 0 validates on 2) and 1 test ID (2 images), 2048²."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = str(tmp_path_factory.mktemp('phantoms2048'))
    make_phantoms(root, num_ids=5, size=SIZE, seed=3, num_test_ids=1)
    return root


def rehearsal_config(config: str, phantom_root: str, work_dir: str) -> Config:
    """``config`` with only the data roots and the iteration counts changed."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    cfg.work_dir = work_dir
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = osp.join(phantom_root, 'train')
    cfg.test_dataloader.dataset.data_root = osp.join(phantom_root, 'test')
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.logger.interval = 1
    return cfg


@pytest.mark.parametrize('config', list(CONFIGS))
def test_fullsize_train_validate_submit(config, fullsize_phantoms, tmp_path):
    work_dir = str(tmp_path / 'work')
    cfg_path = str(tmp_path / osp.basename(config))
    rehearsal_config(config, fullsize_phantoms, work_dir).dump(cfg_path)

    # The full-size configs expect a GPU; on this CPU they run only with the override.
    proc = run_tool('tools/train.py', cfg_path, *ON_CPU)
    log = proc.stdout + proc.stderr
    assert re.search(r'Iter\(val\) \[2/2\].*mDice', log), log[-2000:]
    checkpoint = osp.join(work_dir, f'iter_{ITERS}.pth')
    assert osp.isfile(checkpoint)

    image_root = osp.join(fullsize_phantoms, 'test', 'DCM')
    for extra in ([], ['--tta'])[:1 + CONFIGS[config]]:
        out_csv = str(tmp_path / f'submission{"_tta" if extra else ""}.csv')
        proc = run_tool('tools/test.py', cfg_path, checkpoint, '--submission', out_csv, *extra,
                        *ON_CPU)
        log = proc.stdout + proc.stderr
        assert 'SubmissionHook: wrote 58 rows for 2 images' in log
        counts = check_submission(out_csv, image_root)
        assert counts['images'] == 2 and counts['rows'] == 58
        print(f'{config} {" ".join(extra)}: longest RLE {counts["longest_rle"]} characters')
