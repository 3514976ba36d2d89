import os.path as osp
import subprocess
import sys

from mmengine.config import Config

from mmseg_ext.utils.submission import check_submission
from tests.conftest import REPO_ROOT, tool_env


def _run(*args):
    proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=tool_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _at_scale(config, scale, tmp_path):
    """The same config testing at another input size."""
    cfg = Config.fromfile(config)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = scale
    path = str(tmp_path / 'other.py')
    cfg.dump(path)
    return path


def test_single_member_equals_tools_test(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    image_root = osp.join(phantom_root, 'test', 'DCM')
    _run('tools/test.py', config, ckpt, '--submission', str(tmp_path / 'test.csv'))
    _run('tools/ensemble.py', '--model', f'{config}:{ckpt}', '--image-root', image_root,
         '--submission', str(tmp_path / 'ens.csv'))
    assert (tmp_path / 'ens.csv').read_bytes() == (tmp_path / 'test.csv').read_bytes()


def test_mixed_input_sizes_and_weights(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    other = _at_scale(config, (96, 96), tmp_path)
    out = _run('tools/ensemble.py', '--model', f'{config}:{ckpt}:2', '--model',
               f'{other}:{ckpt}:1', '--image-root', osp.join(phantom_root, 'test', 'DCM'),
               '--submission', str(tmp_path / 'ens.csv'))
    assert 'ensemble of 2: wrote 58 rows for 2 images' in out
    _run('tools/ensemble.py', '--model', f'{config}:{ckpt}', '--crf', '--image-root',
         osp.join(phantom_root, 'test', 'DCM'), '--submission', str(tmp_path / 'crf.csv'))
    assert check_submission(str(tmp_path / 'crf.csv'),
                            osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58
    assert check_submission(str(tmp_path / 'ens.csv'),
                            osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


def test_search_weights_and_thresholds_then_ensemble(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    other = _at_scale(config, (96, 96), tmp_path)
    out_json = str(tmp_path / 'search.json')
    out = _run('tools/analysis_tools/search_ensemble.py', '--model', f'{config}:{ckpt}',
               '--model', f'{other}:{ckpt}', '--out', out_json, '--per-class',
               '--weight-step', '0.5', '--grid', '0.3', '0.5')
    assert 'searched' in out
    import json
    searched = json.load(open(out_json))
    assert searched['val_mdice'] >= searched['val_mdice_equal_weights_0.5']
    assert all(sum(w) == 1.0 for w in searched['class_weights'].values())
    _run('tools/ensemble.py', '--model', f'{config}:{ckpt}', '--model', f'{other}:{ckpt}',
         '--search-json', out_json, '--image-root', osp.join(phantom_root, 'test', 'DCM'),
         '--submission', str(tmp_path / 'ens.csv'))
    assert check_submission(str(tmp_path / 'ens.csv'),
                            osp.join(phantom_root, 'test', 'DCM'))['rows'] == 58


def test_single_member_keeps_its_thresholds_and_cleanup(tiny_run, phantom_root, tmp_path):
    """The member's test_cfg threshold (per class) and cleanup apply to the ensemble too."""
    config, ckpt = tiny_run
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.update(threshold=[0.3 if i % 2 else 0.7 for i in range(29)],
                              cleanup=dict(keep_largest=True, min_area=4))
    tuned = str(tmp_path / 'tuned.py')
    cfg.dump(tuned)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    _run('tools/test.py', config, ckpt, '--submission', str(tmp_path / 'plain.csv'))
    _run('tools/test.py', tuned, ckpt, '--submission', str(tmp_path / 'test.csv'))
    _run('tools/ensemble.py', '--model', f'{tuned}:{ckpt}', '--image-root', image_root,
         '--submission', str(tmp_path / 'ens.csv'))
    assert (tmp_path / 'test.csv').read_bytes() != (tmp_path / 'plain.csv').read_bytes()
    assert (tmp_path / 'ens.csv').read_bytes() == (tmp_path / 'test.csv').read_bytes()
