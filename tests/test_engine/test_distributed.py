"""Two CPU processes (gloo) through tools/dist_*.sh: same Dice, byte-identical CSV."""
import copy
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from tests.helpers import run_tool

# tools/dist_*.sh run $PYTHON; one thread per process (equal threads: same CSV bytes)
DIST_ENV = dict(PYTHON=sys.executable, OMP_NUM_THREADS='1')


def _log(proc):
    return proc.stdout + proc.stderr


def _mdice(log):
    line = [ln for ln in log.splitlines() if 'mDice:' in ln][-1]
    return float(line.split('mDice:')[1].split()[0])


def _odd_labelled_test_config(config, tmp_path):
    """Test on 9 labelled images: 2 ranks get 5 + 5, one a padding duplicate."""
    cfg = Config.fromfile(config)
    exclude = tmp_path / 'exclude.txt'
    exclude.write_text('ID004/image1661130832153_L\n')
    dataset = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset.update(fold=None, exclude_file=str(exclude))
    cfg.test_dataloader = dict(copy.deepcopy(cfg.val_dataloader), dataset=dataset)
    cfg.test_evaluator = cfg.val_evaluator
    cfg.log_level = 'INFO'
    path = str(tmp_path / 'odd.py')
    cfg.dump(path)
    return path


def test_two_process_train(tiny_run, tmp_path):
    config, _ = tiny_run
    # sync_bn as in the full-size configs: gloo on a CPU trains without it (torch's
    # SyncBatchNorm raises for CPU tensors)
    run_tool('tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path / 'ddp'),
             '--cfg-options', 'train_cfg.max_iters=2', 'sync_bn=torch', interpreter='bash',
             extra_env=dict(DIST_ENV, PORT=29611), timeout=900)
    assert osp.isfile(tmp_path / 'ddp' / 'iter_2.pth')


def test_two_process_dice_and_submission_equal_one_process(tiny_run, tmp_path):
    config, ckpt = tiny_run
    odd = _odd_labelled_test_config(config, tmp_path)
    one = _log(run_tool('tools/test.py', odd, ckpt, '--work-dir', str(tmp_path / 'w1'),
                        '--submission', str(tmp_path / 'one.csv'), extra_env=DIST_ENV,
                        timeout=900))
    two = _log(run_tool('tools/dist_test.sh', odd, ckpt, '2', '--work-dir', str(tmp_path / 'w2'),
                        '--submission', str(tmp_path / 'two.csv'), interpreter='bash',
                        extra_env=dict(DIST_ENV, PORT=29612), timeout=900))
    assert _mdice(one) > 0.01, 'the checkpoint must predict something'
    assert _mdice(one) == pytest.approx(_mdice(two), abs=1e-12)
    assert 'wrote 261 rows for 9 images' in one and 'wrote 261 rows for 9 images' in two
    assert (tmp_path / 'one.csv').read_bytes() == (tmp_path / 'two.csv').read_bytes()
