"""tools/kfold.py as a user's week: data by flag, a kill during fold 1, the same command
again (fold 0 untouched, fold 1 resumed), members.txt, side-by-side folds, bad input."""
import csv
import os.path as osp

import cv2
import pytest

from mmseg_ext.apis.member import read_members_file
from tests.helpers import file_times, kfold_config, run_tool, run_tool_cases

pytestmark = pytest.mark.slow  # tools/kfold.py trains folds


def test_kill_during_fold_1_then_the_same_command_resumes(tiny_kfold):
    """``tiny_kfold`` is this user's week: tools/kfold.py killed during fold 1, then the same
    command again; a third time nothing trains."""
    work = tiny_kfold.work_dir
    first_output = tiny_kfold.killed_output
    assert '=== kfold: fold 1/2 (fold 0) training' in first_output
    assert '=== kfold: fold 0 finished: best mDice' in first_output
    assert tiny_kfold.fold_results_when_killed == (True, False)  # fold 0 finished, fold 1 not

    log = tiny_kfold.resumed_output
    assert 'fold 1/2 (fold 0) already finished' in log
    assert 'Auto resumed from the latest checkpoint' in log
    assert 'Iter(train) [1/8]' not in log and 'Iter(train) [8/8]' in log
    assert file_times(work / 'fold0') == tiny_kfold.fold0_when_killed  # not retrained
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

    third = run_tool(*tiny_kfold.command, timeout=300)  # everything done: nothing trains
    assert third.stdout.count('already finished') == 2 and 'Iter(train)' not in third.stdout


def test_folds_side_by_side_and_only(phantom_root, tmp_path):
    config = kfold_config(phantom_root, tmp_path, max_iters=2)
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
    config = kfold_config(phantom_root, tmp_path, max_iters=2)
    root = osp.join(phantom_root, 'train')
    cases = [
        (['--data-root', root, '--folds', '2', '--only', '2'], '--only 2: folds must be within'),
        (['--data-root', root, '--folds', '6'], 'needs 2 <= num_folds <= 5'),
        (['--data-root', str(tmp_path), '--folds', '2'], 'no DCM/ folder'),
        (['--folds', '2'], '/nonexistent/train'),
        (['--data-root', root, '--cfg-options', 'fold=1'], 'use --only / --folds'),
        (['--data-root', root, '--cfg-options', 'img_scale=(1,1)'], "'img_scale' is a variable"),
    ]
    procs = run_tool_cases(*[['tools/kfold.py', config, *args, '--work-dir', tmp_path / 'kf']
                             for args, _ in cases], timeout=300)  # one process
    for (args, message), proc in zip(cases, procs):
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr[-2000:])
    assert not (tmp_path / 'kf').exists()
