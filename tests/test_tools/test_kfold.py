import csv
import os.path as osp

import cv2

from tests.helpers import run_tool, tiny_config


def test_kfold_trains_every_fold_and_reports(phantom_root, tmp_path):
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, str(tmp_path / 'unused'), max_iters=2).dump(config)
    proc = run_tool('tools/kfold.py', config, '--folds', '2', '--work-dir',
                    str(tmp_path / 'kf'), timeout=900)
    assert 'mean mDice over 2 folds' in proc.stdout
    rows = list(csv.reader(open(tmp_path / 'kf' / 'kfold_report.csv')))
    assert rows[0] == ['class', 'fold0', 'fold1', 'mean'] and len(rows) == 1 + 29 + 1
    assert cv2.imread(str(tmp_path / 'kf' / 'kfold_report.png')) is not None
    ckpts = open(tmp_path / 'kf' / 'best_checkpoints.txt').read().split()
    assert len(ckpts) == 2 and all(osp.isfile(c) for c in ckpts)
