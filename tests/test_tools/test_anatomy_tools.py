"""Anatomy priors from annotations -> check a submission -> filter pseudo-labels, overlays."""
import csv
import glob
import os.path as osp
import subprocess
import sys

import cv2

from tests.conftest import REPO_ROOT, tool_env


def _run(*args) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_priors_check_gallery_and_pseudo_label_filter(phantom_root, tiny_run, tmp_path):
    config, ckpt = tiny_run
    priors = str(tmp_path / 'priors.json')
    out = _run('tools/analysis_tools/anatomy_priors.py', osp.join(phantom_root, 'train'),
               '--out', priors)
    assert 'from 10 annotated images' in out
    submission = str(tmp_path / 'sub.csv')
    _run('tools/test.py', config, ckpt, '--submission', submission)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = _run('tools/analysis_tools/check_anatomy.py', submission, image_root, '--priors',
               priors, '--out-dir', str(tmp_path / 'anatomy'))
    with open(tmp_path / 'anatomy' / 'findings.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    scores = {r['image_name']: float(r['score']) for r in rows}
    flagged = sum(s > 0 for s in scores.values())
    assert len(scores) == 2 and f'{flagged} of 2 images flagged' in out
    gallery = glob.glob(str(tmp_path / 'anatomy' / 'gallery' / '*.png'))
    assert len(gallery) == flagged
    html = (tmp_path / 'anatomy' / 'index.html').read_text()
    assert all(osp.basename(g) in html for g in gallery)

    keep_all = _run('tools/pseudo_label.py', submission, image_root, str(tmp_path / 'all'),
                    '--priors', priors, '--max-score', '1e9')
    assert 'wrote 2 annotation files' in keep_all
    clean_only = _run('tools/pseudo_label.py', submission, image_root, str(tmp_path / 'clean'),
                      '--priors', priors)
    assert f'wrote {2 - flagged} annotation files' in clean_only
    assert f'skipped {flagged} with anatomical findings' in clean_only


def test_visualize_titles_legend_errors_and_findings(phantom_root, tiny_run, tmp_path):
    config, ckpt = tiny_run
    priors = str(tmp_path / 'priors.json')
    _run('tools/analysis_tools/anatomy_priors.py', osp.join(phantom_root, 'train'),
         '--out', priors)
    _run('tools/analysis_tools/visualize.py', config, ckpt, '--out-dir', str(tmp_path / 'vis'),
         '--num', '1', '--priors', priors)
    [figure] = glob.glob(str(tmp_path / 'vis' / '*.png'))
    image = cv2.imread(figure)
    # three 128 px panels (ground truth, prediction, errors) under title bars, and a legend
    assert image.shape[0] > 128 and image.shape[1] > 3 * 128
