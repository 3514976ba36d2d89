"""tools/evaluate.py as a user runs it: printed scores, output files, the HTML report."""
import csv
import os.path as osp
import re
import shutil
import subprocess

import numpy as np
import pytest

from mmseg_ext.evaluation.submission_eval import PER_IMAGE_HEADER
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from tests.helpers import run_tool
from tests.test_evaluation.test_submission_eval import (dataset_ground_truth, perturbed,
                                                        write_submission)

pytestmark = pytest.mark.slow  # tools/evaluate.py processes

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


@pytest.fixture(scope='module')
def evaluated(phantom_root, tmp_path_factory):
    """One run of the tool with --out-dir and --report on all train images but the last,
    plus an unlabelled name: (process, out dir, report dir, predictions, ground truth)."""
    data_root = osp.join(phantom_root, 'train')
    gt = dataset_ground_truth(data_root)
    preds = {name: perturbed(gt[name], i) for i, name in enumerate(sorted(gt)[:-1])}
    tmp = tmp_path_factory.mktemp('evaluate')
    csv_path = str(tmp / 'sub.csv')
    write_submission(csv_path, preds, extra=('not_labelled.png', ))
    out_dir, report = str(tmp / 'out'), str(tmp / 'report')
    proc = run_tool('tools/evaluate.py', csv_path, '--data-root', data_root, '--out-dir',
                    out_dir, '--report', report, '--worst', '5', timeout=600)
    return proc, out_dir, report, preds, gt


def _numpy_mean_dice(preds: dict, gt: dict) -> float:
    per_image = []
    for name, pred in preds.items():
        inter = (pred & gt[name]).sum(axis=(1, 2))
        total = pred.sum(axis=(1, 2)) + gt[name].sum(axis=(1, 2))
        per_image.append(np.where(total > 0, 2 * inter / np.maximum(total, 1), 1.0))
    return float(np.mean(per_image))


def test_prints_scores_and_names_unscored_images(evaluated):
    proc, _, _, preds, gt = evaluated
    out = proc.stdout
    assert f'{len(preds)} images scored' in out
    assert re.search(r'no labels \(not scored\): not_labelled\.png', out)
    assert re.search(rf'missing from the CSV \(not scored\): {re.escape(sorted(gt)[-1])}', out)
    mean = float(re.search(r'mean Dice (\d\.\d+)', out).group(1))
    assert mean == pytest.approx(_numpy_mean_dice(preds, gt), abs=1e-4)
    misses = int(re.search(r'scored as the image diagonal\): (\d+)', out).group(1))
    assert misses == sum(int((gt[n].any(axis=(1, 2)) & ~p.any(axis=(1, 2))).sum())
                         for n, p in preds.items())
    for name in HAND_BONE_CLASSES + ('mean', ):
        assert re.search(rf'\|\s+{name} \|', out), name
    assert f'{len(preds)}/{len(preds)}' in out and 'ETA' in out  # the progress bar


def test_output_files(evaluated):
    _, out_dir, _, preds, gt = evaluated
    with open(osp.join(out_dir, 'per_image.csv')) as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == PER_IMAGE_HEADER
    assert len(rows) - 1 == len(preds) * len(HAND_BONE_CLASSES)
    assert {r[0] for r in rows[1:]} == set(preds)
    dice = np.array([float(r[2]) for r in rows[1:]]).reshape(len(preds), -1)
    assert dice.mean() == pytest.approx(_numpy_mean_dice(preds, gt), abs=1e-6)
    with open(osp.join(out_dir, 'per_class.csv')) as f:
        per_class = list(csv.DictReader(f))
    assert [r['class'] for r in per_class] == list(HAND_BONE_CLASSES) + ['mean']
    assert float(per_class[-1]['dice']) == pytest.approx(dice.mean(), abs=1e-6)
    assert int(per_class[-1]['misses']) == sum(
        int((gt[n].any(axis=(1, 2)) & ~p.any(axis=(1, 2))).sum()) for n, p in preds.items())
    assert osp.getsize(osp.join(out_dir, 'per_class.png')) > 1000


def test_bad_data_root_stops_with_a_named_error(evaluated, tmp_path):
    (tmp_path / 'DCM').mkdir()
    proc = run_tool('tools/evaluate.py', str(tmp_path / 'sub.csv'), '--data-root',
                    str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 2
    assert f'{tmp_path}: no outputs_json/ folder' in proc.stderr


def test_report_page_has_every_part(evaluated):
    _, _, report, _, _ = evaluated
    with open(osp.join(report, 'index.html')) as f:
        page = f.read()
    images = re.findall(r'<img src="([^"]+)"', page)
    links = re.findall(r'<a href="([^"]+)"', page)
    assert len(images) == 2 + 2 * 5 and len(links) == 2 * 5
    for src in images + links:
        assert osp.isfile(osp.join(report, src)), src
    assert 'id="classes"' in page and page.count('<tr>') == 1 + len(HAND_BONE_CLASSES)


_PROBE = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var th = document.querySelectorAll('#classes th')[1];
  th.click();
  var first = [].map.call(document.querySelectorAll('#classes tbody tr'),
                          function (r) { return parseFloat(r.cells[1].dataset.v); });
  th.click();
  var second = [].map.call(document.querySelectorAll('#classes tbody tr'),
                           function (r) { return parseFloat(r.cells[1].dataset.v); });
  var asc = first.every(function (v, i) { return i === 0 || first[i - 1] <= v; });
  var desc = second.every(function (v, i) { return i === 0 || second[i - 1] >= v; });
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = 'images=' + imgs.length + ' broken=' + broken.length +
    ' asc=' + asc + ' desc=' + desc + ' rows=' + first.length;
  document.body.appendChild(out);
});
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (Debian package '
                    '`chromium`; tools/setup.sh test installs it as root): report not opened')
def test_report_opens_in_headless_chromium(evaluated):
    """The page as a browser shows it from disk: every image loads, the table sorts."""
    _, _, report, _, _ = evaluated
    with open(osp.join(report, 'index.html')) as f:
        page = f.read()
    probe = osp.join(report, 'probe.html')  # beside index.html: same relative image paths
    with open(probe, 'w') as f:
        f.write(page.replace('</body>', _PROBE + '</body>'))
    proc = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
                           '--virtual-time-budget=10000', '--dump-dom', 'file://' + probe],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'images=(\d+) broken=(\d+) asc=(\w+) desc=(\w+) rows=(\d+)',
                      proc.stdout)
    assert found, proc.stderr[-2000:]
    images, broken, asc, desc, rows = found.groups()
    assert int(images) == 12 and broken == '0'
    assert asc == desc == 'true' and int(rows) == len(HAND_BONE_CLASSES)
