"""Exported models as ensemble members: the submission equals PyTorch's, on ORT and OpenVINO."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from mmseg_ext.utils.formats.submission import check_submission, read_submission_masks
from tests.conftest import REPO_ROOT
from tests.helpers import box_vs_full_plane, run_tool

pytest.importorskip('onnxruntime')

pytestmark = pytest.mark.slow  # tiny_run exported, tool processes


def per_class_dice(csv_a: str, csv_b: str, image_root: str) -> np.ndarray:
    """(images, classes) Dice between the masks of two submissions (empty vs empty = 1)."""
    masks_b = {name: m for name, _, m in read_submission_masks(csv_b, image_root)}
    scores = []
    for name, _, a in read_submission_masks(csv_a, image_root):
        b = masks_b[name]
        inter = (a & b).sum(axis=(1, 2))
        total = a.sum(axis=(1, 2)) + b.sum(axis=(1, 2))
        scores.append(np.where(total == 0, 1.0, 2 * inter / np.maximum(total, 1)))
    assert len(scores) == len(masks_b)
    return np.array(scores)


def _assert_matches(csv, reference, image_root):
    assert check_submission(csv, image_root)['rows'] == 58
    dice = per_class_dice(csv, reference, image_root)
    assert dice.min() >= 0.999, dice.min(axis=0)


@pytest.fixture(scope='module')
def torch_submission(tiny_submission):
    return tiny_submission[0]


def _predict_exported(exported_tiny, phantom_root, out, *extra):
    """``tools/predict.py --model EXPORTED.onnx [extra]`` on the test images: ``out``."""
    run_tool('tools/predict.py', '--model', exported_tiny[0], *extra, '--image-root',
             osp.join(phantom_root, 'test', 'DCM'), '--submission', str(out))
    return str(out)


@pytest.fixture(scope='module')
def ort_submission(exported_tiny, phantom_root, tmp_path_factory):
    """``tools/predict.py --model EXPORTED.onnx``: the CSV path."""
    return _predict_exported(exported_tiny, phantom_root,
                             tmp_path_factory.mktemp('ort') / 'ort.csv')


@pytest.fixture(scope='module')
def ort_tta_submission(exported_tiny, phantom_root, tmp_path_factory):
    """``tools/predict.py --model EXPORTED.onnx --tta``: the CSV path."""
    return _predict_exported(exported_tiny, phantom_root,
                             tmp_path_factory.mktemp('ort_tta') / 'ort_tta.csv', '--tta')


def test_onnxruntime_submission_equals_pytorch(ort_submission, torch_submission, phantom_root):
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = ort_submission
    _assert_matches(out, torch_submission, image_root)
    # The masks are not all empty: the comparison says something.
    assert sum(m.sum() for _, _, m in read_submission_masks(out, image_root)) > 1000


def test_openvino_submission_equals_pytorch(exported_tiny, torch_submission, phantom_root,
                                            tmp_path):
    pytest.importorskip('openvino')
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = str(tmp_path / 'ov.csv')
    run_tool('tools/predict.py', '--model', exported_tiny[0], '--backend', 'openvino',
             '--threads', '2', '--image-root', image_root, '--submission', out)
    _assert_matches(out, torch_submission, image_root)


def test_flip_tta_equals_pytorch_tta(ort_submission, ort_tta_submission, tiny_run,
                                     phantom_root, tmp_path):
    """``--tta`` on ONNX Runtime = tools/test.py --tta with one scale and a flip."""
    config, ckpt = tiny_run
    cfg = Config.fromfile(config)
    cfg.tta_pipeline = [
        dict(type='LoadXRayImage'),
        dict(type='TestTimeAug', transforms=[
            [dict(type='Resize', scale=(64, 64), keep_ratio=True)],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='PackSegInputs')]])]
    flip_config = str(tmp_path / 'flip.py')
    cfg.dump(flip_config)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    run_tool('tools/test.py', flip_config, ckpt, '--tta', '--submission',
             str(tmp_path / 'torch_tta.csv'))
    _assert_matches(ort_tta_submission, str(tmp_path / 'torch_tta.csv'), image_root)
    assert open(ort_tta_submission, 'rb').read() != open(ort_submission, 'rb').read()


def test_mixed_with_a_pytorch_member(exported_tiny, tiny_run, torch_submission, phantom_root,
                                     tmp_path):
    """The same model once as CONFIG:CKPT and once exported: the mean is the model."""
    config, ckpt = tiny_run
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = str(tmp_path / 'mixed.csv')
    proc = run_tool('tools/predict.py', '--model', f'{config}:{ckpt}', '--model',
                    f'{exported_tiny[0]}:2', '--image-root', image_root, '--submission', out)
    assert 'ensemble of 2: wrote 58 rows for 2 images' in proc.stdout
    _assert_matches(out, torch_submission, image_root)


# tools/predict.py in a process where mmcv, mmengine and mmseg cannot be imported (as in
# a deployment install), then the names of any such module that got loaded.
_NO_MM = r'''
import runpy, sys
for name in ('mmcv', 'mmengine', 'mmseg'):
    sys.modules[name] = None  # import fails as if not installed
sys.argv = ['tools/predict.py'] + sys.argv[1:]
runpy.run_path('tools/predict.py', run_name='__main__')
import mmseg_ext
assert mmseg_ext.MM_IMPORT_ERROR is not None
loaded = sorted(m for m in sys.modules if sys.modules[m] is not None
                and m.split('.')[0] in ('mmcv', 'mmengine', 'mmseg'))
print('loaded:', loaded)
'''


def test_ensemble_tool_without_mmcv_mmengine_mmseg(exported_tiny, ort_tta_submission,
                                                   phantom_root, tmp_path):
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = str(tmp_path / 'no_mm.csv')
    proc = subprocess.run([sys.executable, '-c', _NO_MM, '--model', exported_tiny[0], '--tta',
                           '--image-root', image_root, '--submission', out],
                          cwd=REPO_ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'loaded: []' in proc.stdout
    assert 'wrote 58 rows for 2 images' in proc.stdout
    assert open(out, 'rb').read() == open(ort_tta_submission, 'rb').read()


def test_package_imports_without_deploy_packages():
    code = ("import sys\n"
            "for n in ('onnx', 'onnxruntime', 'openvino', 'onnxscript'): sys.modules[n] = None\n"
            "import mmseg_ext, mmseg_ext.apis, mmseg_ext.deploy.onnx_member\n"
            "from mmseg_ext.deploy.onnx_member import ExportedMember\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and 'ok' in proc.stdout, proc.stderr[-3000:]


def test_box_merge_equals_full_plane_with_exported_members(exported_tiny, tiny_run,
                                                           phantom_root):
    """``ensemble_masks`` of exported members (one with its flip) and a PyTorch member at
    another input size, per-class weights too: every pixel as the full-plane path's."""
    import torch

    from mmseg_ext.apis.ensemble import CheckpointMember
    from mmseg_ext.deploy.onnx_member import ExportedMember
    from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
    config, ckpt = tiny_run
    members = [ExportedMember(exported_tiny[0]), ExportedMember(exported_tiny[0], 0.5, tta=True),
               CheckpointMember(config, ckpt, 2.0, device='cpu')]
    rule = members[0].mask_rule
    per_class = torch.rand((3, 29), generator=torch.Generator().manual_seed(1))
    paths = image_paths_by_name(osp.join(phantom_root, 'test', 'DCM')).values()
    differing, foreground = box_vs_full_plane(members, paths, rule, (None, per_class))
    assert foreground > 1000 and differing == 0
