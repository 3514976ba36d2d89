"""tools/predict.py: members from a file, --tta for checkpoint members, every output."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_ext.apis.member import MemberSpec, write_members_file
from mmseg_ext.utils.formats.mask_file import load_mask_file
from mmseg_ext.utils.formats.submission import check_submission, read_submission_masks
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool, run_tool_cases

pytestmark = pytest.mark.slow  # tiny_run and tools/predict.py processes


def _at_scale(config, scale, path):
    cfg = Config.fromfile(config)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = scale
    cfg.dump(str(path))
    return str(path)


def test_members_file_with_tta_writes_csv_masks_and_pictures(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    other = _at_scale(config, (96, 96), tmp_path / 'other.py')
    members = tmp_path / 'members.txt'
    write_members_file(str(members), [MemberSpec.checkpoint_member(config, ckpt),
                                      MemberSpec.checkpoint_member(other, ckpt, 0.5)])
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = tmp_path / 'out'
    proc = run_tool('tools/predict.py', '--models-from', str(members), '--tta', '--image-root',
                    image_root, '--submission', str(out / 'sub.csv'), '--out-dir',
                    str(out / 'masks'), '--show-dir', str(out / 'pics'))
    assert 'ensemble of 2: wrote 58 rows for 2 images to' in proc.stdout
    assert check_submission(str(out / 'sub.csv'), image_root)['rows'] == 58
    decoded = {name: masks for name, _, masks in read_submission_masks(str(out / 'sub.csv'),
                                                                       image_root)}
    mask_files = sorted(glob.glob(str(out / 'masks' / '*.npz')))
    assert len(mask_files) == 2
    for path in mask_files:
        masks, classes = load_mask_file(path)
        name = osp.splitext(osp.basename(path))[0] + '.png'
        assert len(classes) == 29 and (masks == decoded[name]).all()
    assert len(glob.glob(str(out / 'pics' / '*.png'))) == 2


def test_one_member_tta_equals_tools_test_tta(tiny_run, tiny_tta_submission, phantom_root,
                                              tmp_path):
    config, ckpt = tiny_run
    run_tool('tools/predict.py', '--model', f'{config}:{ckpt}', '--tta', '--image-root',
             osp.join(phantom_root, 'test', 'DCM'), '--submission', str(tmp_path / 'pred.csv'))
    with open(tiny_tta_submission, 'rb') as f:
        assert (tmp_path / 'pred.csv').read_bytes() == f.read()


def test_bad_input_stops_before_any_model_loads(tiny_run, phantom_root, tmp_path):
    config, ckpt = tiny_run
    image_root = osp.join(phantom_root, 'test', 'DCM')
    bad = tmp_path / 'members.txt'
    bad.write_text(f'{config}:{ckpt}\n{config}:missing.pth\n')
    cases = [
        (['--model', f'{config}:{ckpt}'], 'nothing to write'),
        (['--models-from', str(bad), '--submission', 'x.csv'], f'{bad}:2: '),
        (['--model', f'{config}:{tmp_path}/absent.pth', '--submission', 'x.csv'],
         'absent.pth: no such file'),
        (['--model', 'weights.pth', '--submission', 'x.csv'], 'neither CONFIG.py:CKPT'),
    ]
    procs = run_tool_cases(*[[osp.join(REPO_ROOT, 'tools', 'predict.py'), *args, '--image-root',
                              image_root] for args, _ in cases], cwd=str(tmp_path),
                           timeout=300)  # one process
    for (args, message), proc in zip(cases, procs):
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr[-2000:])
    assert not glob.glob(str(tmp_path / 'x.csv*'))
