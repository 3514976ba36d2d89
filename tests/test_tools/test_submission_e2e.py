import csv
import glob
import os.path as osp
import re

import numpy as np
import pytest

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.rle import rle_decode
from mmseg_ext.utils.formats.submission import check_submission
from tests.helpers import run_tool, run_tool_cases

pytestmark = pytest.mark.slow  # tiny_run and tool processes


def test_train_test_submission_matches_model_masks(phantom_root, tiny_run, tiny_submission,
                                                   tmp_path):
    config, ckpt = tiny_run
    out_csv, log = tiny_submission
    assert 'SubmissionHook: wrote 58 rows for 2 images' in log

    image_root = osp.join(phantom_root, 'test', 'DCM')
    assert check_submission(out_csv, image_root)['rows'] == 58
    check = run_tool('tools/analysis_tools/check_submission.py', out_csv, image_root,
                     '--out-dir', str(tmp_path / 'overlays'))
    assert check.stdout.startswith('OK: 2 images, 58 rows')
    assert len(glob.glob(str(tmp_path / 'overlays' / '*.png'))) == 2
    vis = run_tool('tools/analysis_tools/visualize.py', config, ckpt, '--out-dir',
                   str(tmp_path / 'vis'), '--num', '2')
    assert 'mean Dice' in vis.stdout and osp.isfile(tmp_path / 'vis' / 'dice.csv')
    assert re.search(r'mean HD95 [\d.]+ px', vis.stdout), vis.stdout[-1000:]

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
    assert not glob.glob(osp.join(osp.dirname(out_csv), '*.tmp*'))


def test_failed_run_leaves_no_csv(phantom_root, tiny_run, tmp_path):
    config, ckpt = tiny_run
    broken = tmp_path / 'broken_test'
    import shutil
    shutil.copytree(osp.join(phantom_root, 'test'), broken)
    last = sorted(glob.glob(str(broken / 'DCM' / '*' / '*.png')))[-1]
    with open(last, 'wb') as f:
        f.write(b'\x89PNG truncated')
    out_csv = str(tmp_path / 'submission.csv')
    proc = run_tool('tools/test.py', config, ckpt, '--submission', out_csv, '--cfg-options',
                    f'test_dataloader.dataset.data_root={broken}', check=False, timeout=600)
    assert proc.returncode != 0
    assert osp.basename(last) in proc.stderr and 'cannot decode' in proc.stderr
    assert not osp.exists(out_csv) and not glob.glob(out_csv + '*')


def test_submit_with_a_thresholds_json(tiny_run, phantom_root, tmp_path):
    """tools/test.py --thresholds: a {class: threshold} JSON sets each class's threshold."""
    import json
    config, ckpt = tiny_run
    out_json = tmp_path / 'thr.json'
    out_json.write_text(json.dumps({name: 0.3 + 0.4 * (i % 2)
                                    for i, name in enumerate(HAND_BONE_CLASSES)}))
    out_csv = str(tmp_path / 'sub.csv')
    run_tool('tools/test.py', config, ckpt, '--submission', out_csv, '--thresholds',
             str(out_json))
    assert check_submission(out_csv, osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


BAD_INPUTS = {
    'thresholds': "bad.json: unknown class(es) ['Femur']",
    'csv_is_folder': 'is a folder',
    'csv_under_file': 'cannot write the submission',
    'missing_checkpoint': 'cannot read the checkpoint',
}


def test_bad_inputs_fail_before_inference(tiny_run, tmp_path):
    """Each bad input stops tools/test.py with its message; nothing is built (no work dir),
    nothing is written (no CSV). The cases run in one process."""
    config, ckpt = tiny_run
    (tmp_path / 'bad.json').write_text('{"Radius": 0.4, "Femur": 0.5}')
    (tmp_path / 'a_file').write_text('')
    (tmp_path / 'folder.csv').mkdir()
    cases = []
    outputs = {'csv_is_folder': tmp_path / 'folder.csv',
               'csv_under_file': tmp_path / 'a_file' / 'sub.csv'}
    for case in BAD_INPUTS:
        out_csv = outputs.get(case, tmp_path / 'x.csv')
        args = [config, str(tmp_path / 'none.pth') if case == 'missing_checkpoint' else ckpt,
                '--submission', str(out_csv), '--work-dir', str(tmp_path / 'work')]
        if case == 'thresholds':
            args += ['--thresholds', str(tmp_path / 'bad.json')]
        cases.append(['tools/test.py', *args])
    for (case, message), proc in zip(BAD_INPUTS.items(), run_tool_cases(*cases, timeout=300)):
        assert proc.returncode != 0 and message in proc.stderr, (case, proc.stderr[-2000:])
    assert not (tmp_path / 'work').exists()
    assert not (tmp_path / 'x.csv').exists() and (tmp_path / 'folder.csv').is_dir()


def test_tta_submission(tiny_tta_submission, phantom_root):
    assert check_submission(tiny_tta_submission,
                            osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


def test_pseudo_labels_join_training(tiny_submission, phantom_root, tmp_path):
    out_csv = tiny_submission[0]
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = run_tool('tools/pseudo_label.py', out_csv, image_root, str(tmp_path / 'pseudo'),
                   '--min-area', '2')
    assert 'wrote 2 annotation files' in out.stdout
    from mmseg_ext.datasets import HandBoneDataset
    dataset = HandBoneDataset(
        data_root=str(tmp_path), pipeline=[],
        data_prefix=dict(img_path=image_root, seg_map_path=str(tmp_path / 'pseudo')))
    assert len(dataset) == 2
    assert sum(len(dataset.get_data_info(i)['gt_polygons']) for i in range(2)) > 0


def _variant(config, path, **test_cfg):
    """``config`` with one identity TTA view and ``test_cfg`` overrides."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.update(test_cfg)
    resize = [t for t in cfg.test_pipeline if t['type'] == 'Resize'][0]
    cfg.tta_pipeline = [dict(type='LoadXRayImage'), dict(type='TestTimeAug', transforms=[
        [resize], [dict(type='PackSegInputs')]])]
    cfg.dump(str(path))
    return str(path)


def test_tta_with_one_identity_view_equals_no_tta_with_thresholds_and_cleanup(
        tiny_run, tmp_path):
    """Per-class thresholds and cleanup survive the TTA merge: same bytes as no TTA."""
    config, ckpt = tiny_run
    thresholds = [0.3 if i % 2 else 0.7 for i in range(len(HAND_BONE_CLASSES))]
    cleanup = dict(keep_largest=True, min_area=4)
    plain = _variant(config, tmp_path / 'plain.py')
    tuned = _variant(config, tmp_path / 'tuned.py', threshold=thresholds,
                     cleanup=cleanup)
    csv = {}
    for name, cfg, extra in [('plain', plain, []), ('tuned', tuned, []),
                             ('tuned_tta', tuned, ['--tta'])]:
        csv[name] = tmp_path / f'{name}.csv'
        run_tool('tools/test.py', cfg, ckpt, '--submission', str(csv[name]), *extra)
    assert csv['tuned'].read_bytes() != csv['plain'].read_bytes(), 'settings must matter'
    assert csv['tuned_tta'].read_bytes() == csv['tuned'].read_bytes()
