"""``ensemble_masks``: the members' masks without full-size probabilities, equal to the
full-plane path and, for one member, byte for byte to ``tools/test.py``'s submission."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmseg_ext.apis.ensemble import CheckpointMember, ensemble_masks
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.formats.submission import SubmissionWriter
from tests.helpers import box_vs_full_plane, run_tool

pytestmark = pytest.mark.slow  # tiny_run and tools/test.py processes


def _tta_config(config, path, merge, scales=(48, 64, 80)):
    """``config`` with scales x flip TTA views (none an integer factor of 128 px but 64)."""
    cfg = Config.fromfile(config)
    cfg.tta_pipeline = [dict(type='LoadXRayImage'), dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(s, s), keep_ratio=True) for s in scales],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackSegInputs')]])]
    cfg.tta_model = dict(type='MultiLabelTTAModel', merge=merge)
    cfg.dump(str(path))
    return str(path)


def _write(members, image_root, out_csv, rule=None, class_weights=None):
    """A submission of ``ensemble_masks`` (tools/predict.py's loop)."""
    rule = rule or members[0].mask_rule
    with SubmissionWriter(str(out_csv), HAND_BONE_CLASSES) as writer:
        for path in image_paths_by_name(image_root).values():
            writer.write_image(osp.basename(path), ensemble_masks(members, path, rule,
                                                                  class_weights))
    return out_csv


@pytest.mark.parametrize('merge', ['prob', 'logit', 'vote'])
def test_tta_member_equals_tools_test_tta(tiny_run, phantom_root, tmp_path, merge):
    config, ckpt = tiny_run
    config = _tta_config(config, tmp_path / 'tta.py', merge)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    run_tool('tools/test.py', config, ckpt, '--tta', '--submission', str(tmp_path / 'test.csv'))
    member = CheckpointMember(config, ckpt, device='cpu', tta=True)
    assert member.merge == merge
    out = _write([member], image_root, tmp_path / 'api.csv')
    assert out.read_bytes() == (tmp_path / 'test.csv').read_bytes()


def test_member_equals_tools_test(tiny_run, tiny_submission, phantom_root, tmp_path):
    config, ckpt = tiny_run
    image_root = osp.join(phantom_root, 'test', 'DCM')
    out = _write([CheckpointMember(config, ckpt, device='cpu')], image_root,
                 tmp_path / 'api.csv')
    with open(tiny_submission[0], 'rb') as f:
        assert out.read_bytes() == f.read()


def test_equals_the_full_plane_path(tiny_run, phantom_root, tmp_path):
    """Mixed input sizes, a TTA member, per-class weights: every pixel as
    ``rule(ensemble_probs(...))``, except within 1e-6 of the threshold (none here)."""
    config, ckpt = tiny_run
    other = Config.fromfile(config)
    for step in other.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (96, 96)
    other.dump(str(tmp_path / 'other.py'))
    members = [CheckpointMember(config, ckpt, device='cpu'),
               CheckpointMember(str(tmp_path / 'other.py'), ckpt, 0.5, device='cpu'),
               CheckpointMember(_tta_config(config, tmp_path / 'tta.py', 'prob'), ckpt,
                                device='cpu', tta=True)]
    rule = members[0].mask_rule
    rule.threshold = [0.3 if i % 2 else 0.6 for i in range(len(HAND_BONE_CLASSES))]
    generator = torch.Generator().manual_seed(0)
    per_class = torch.rand((3, len(HAND_BONE_CLASSES)), generator=generator)
    paths = image_paths_by_name(osp.join(phantom_root, 'test', 'DCM')).values()
    differing, foreground = box_vs_full_plane(members, paths, rule, (None, per_class))
    assert foreground > 1000
    assert differing == 0
