import csv
import glob
import os.path as osp
import subprocess
import sys

import numpy as np

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.rle import rle_decode
from mmseg_ext.utils.submission_check import check_submission
from tests.conftest import REPO_ROOT, tool_env
from tests.helpers import tiny_config


def _run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_train_test_submission_matches_model_masks(phantom_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, work_dir, max_iters=2).dump(config)
    _run('tools/train.py', config)
    ckpt = osp.join(work_dir, 'iter_2.pth')
    out_csv = str(tmp_path / 'sub' / 'submission.csv')
    proc = _run('tools/test.py', config, ckpt, '--submission', out_csv)
    assert 'SubmissionHook: wrote 58 rows for 2 images' in proc.stdout + proc.stderr

    image_root = osp.join(phantom_root, 'test', 'DCM')
    assert check_submission(out_csv, image_root) == {'images': 2, 'rows': 58}
    check = _run('tools/analysis_tools/check_submission.py', out_csv, image_root)
    assert check.stdout.startswith('OK: 2 images, 58 rows')

    from mmseg.apis import inference_model, init_model
    model = init_model(config, ckpt, device='cpu')
    with open(out_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    images = sorted(glob.glob(osp.join(image_root, '*', '*.png')))
    for i, path in enumerate(images):
        expected = inference_model(model, path).pred_sem_seg.data.numpy()
        image_rows = rows[29 * i:29 * (i + 1)]
        assert [r['class'] for r in image_rows] == list(HAND_BONE_CLASSES)
        assert all(r['image_name'] == osp.basename(path) for r in image_rows)
        decoded = np.stack([rle_decode(r['rle'], expected.shape[1:]) for r in image_rows])
        assert (decoded == expected).all()
    assert not glob.glob(osp.join(tmp_path, 'sub', '*.tmp*'))


def test_failed_run_leaves_no_csv(phantom_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, work_dir, max_iters=2).dump(config)
    _run('tools/train.py', config)
    broken = tmp_path / 'broken_test'
    import shutil
    shutil.copytree(osp.join(phantom_root, 'test'), broken)
    last = sorted(glob.glob(str(broken / 'DCM' / '*' / '*.png')))[-1]
    with open(last, 'wb') as f:
        f.write(b'\x89PNG truncated')
    out_csv = str(tmp_path / 'submission.csv')
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, osp.join(work_dir, 'iter_2.pth'),
         '--submission', out_csv, '--cfg-options',
         f'test_dataloader.dataset.data_root={broken}'],
        cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert osp.basename(last) in proc.stderr and 'cannot decode' in proc.stderr
    assert not osp.exists(out_csv) and not glob.glob(out_csv + '*')
