"""tools/kfold.py as a user's week: data by flag, a kill during fold 1, the same command
again (fold 0 untouched, fold 1 resumed), members.txt, side-by-side folds, bad input."""
import csv
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import cv2

from mmseg_ext.apis.member import read_members_file
from mmseg_ext.utils.formats.fold_result import read_fold_result
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool, tiny_config


def _config(phantom_root, tmp_path, max_iters):
    """The tiny config with its data roots pointing nowhere: only --data-root can work."""
    cfg = tiny_config(phantom_root, str(tmp_path / 'unused'), max_iters=max_iters)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = '/nonexistent/train'
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    cfg.train_cfg.val_interval = max_iters // 2
    cfg.log_level = 'INFO'
    path = str(tmp_path / 'tiny.py')
    cfg.dump(path)
    return path


def _files(folder):
    return {f: os.stat(osp.join(folder, f)).st_mtime_ns for f in os.listdir(folder)
            if osp.isfile(osp.join(folder, f))}


def test_kill_during_fold_1_then_the_same_command_resumes(phantom_root, tmp_path):
    config = _config(phantom_root, tmp_path, max_iters=8)
    work = tmp_path / 'kf'
    command = ['tools/kfold.py', config, '--data-root', osp.join(phantom_root, 'train'),
               '--folds', '2', '--work-dir', str(work)]
    proc = subprocess.Popen([sys.executable, *command], cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while not (work / 'fold1' / 'iter_3.pth').exists():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() < deadline, 'fold 1 did not reach iteration 3'
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    first_output = proc.communicate()[0]
    assert '=== kfold: fold 1/2 (fold 0) training' in first_output
    assert '=== kfold: fold 0 finished: best mDice' in first_output
    assert read_fold_result(str(work / 'fold0')) is not None
    assert read_fold_result(str(work / 'fold1')) is None
    fold0_before = _files(work / 'fold0')

    again = run_tool(*command, timeout=900)
    log = again.stdout + again.stderr
    assert 'fold 1/2 (fold 0) already finished' in log
    assert 'Auto resumed from the latest checkpoint' in log
    assert 'Iter(train) [1/8]' not in log and 'Iter(train) [8/8]' in log
    assert _files(work / 'fold0') == fold0_before  # not retrained, nothing rewritten
    assert 'mean mDice over 2 of 2 folds' in log

    members = read_members_file(str(work / 'members.txt'))
    assert [osp.dirname(m.checkpoint) for m in members] == [str(work / f'fold{k}')
                                                            for k in (0, 1)]
    assert all(osp.basename(m.checkpoint).startswith('best_mDice_') for m in members)
    rows = list(csv.reader(open(work / 'kfold_report.csv')))
    assert rows[0] == ['class', 'fold0', 'fold1', 'mean'] and len(rows) == 1 + 29 + 1
    assert cv2.imread(str(work / 'kfold_report.png')) is not None
    for fold in (0, 1):
        assert cv2.imread(str(work / f'fold{fold}' / 'learning_curve.png')) is not None

    third = run_tool(*command, timeout=300)  # everything done: nothing trains
    assert third.stdout.count('already finished') == 2 and 'Iter(train)' not in third.stdout


def test_folds_side_by_side_and_only(phantom_root, tmp_path):
    config = _config(phantom_root, tmp_path, max_iters=2)
    work = tmp_path / 'kf'
    proc = run_tool('tools/kfold.py', config, '--data-root', osp.join(phantom_root, 'train'),
                    '--folds', '3', '--only', '0,2', '--parallel', '2', '--work-dir', str(work),
                    timeout=900)
    for fold in (0, 2):
        assert f'(fold {fold}) training on this machine in {work}/fold{fold}; log: ' \
               f'{work}/fold{fold}/kfold_train.log' in proc.stdout
        assert 'Iter(train) [2/2]' in (work / f'fold{fold}' / 'kfold_train.log').read_text()
    assert not (work / 'fold1').exists()
    assert len(read_members_file(str(work / 'members.txt'))) == 2
    assert 'mean mDice over 2 of 3 folds' in proc.stdout


def test_bad_input_stops_before_training(phantom_root, tmp_path):
    config = _config(phantom_root, tmp_path, max_iters=2)
    root = osp.join(phantom_root, 'train')
    cases = [
        (['--data-root', root, '--folds', '2', '--only', '2'], '--only 2: folds must be within'),
        (['--data-root', root, '--folds', '6'], 'needs 2 <= num_folds <= 5'),
        (['--data-root', str(tmp_path), '--folds', '2'], 'no DCM/ folder'),
        (['--folds', '2'], '/nonexistent/train'),
        (['--data-root', root, '--cfg-options', 'fold=1'], 'use --only / --folds'),
        (['--data-root', root, '--cfg-options', 'img_scale=(1,1)'], "'img_scale' is a variable"),
    ]
    for args, message in cases:
        proc = run_tool('tools/kfold.py', config, *args, '--work-dir', str(tmp_path / 'kf'),
                        check=False, timeout=120)
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr[-2000:])
        assert not (tmp_path / 'kf').exists()
