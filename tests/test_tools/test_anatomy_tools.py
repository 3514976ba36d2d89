"""Anatomy priors from annotations -> check a submission -> filter pseudo-labels, overlays."""
import csv
import glob
import json
import os.path as osp

import cv2
import pytest

from mmseg_ext.datasets import HandBoneDataset
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.submission import SubmissionWriter
from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # tool processes


def _annotated_masks(data_root, index):
    """(image path, (C, H, W) ground-truth masks) of one annotated phantom."""
    info = HandBoneDataset(data_root=data_root, pipeline=[]).get_data_info(index)
    shape = cv2.imread(info['img_path'], cv2.IMREAD_GRAYSCALE).shape
    bits = rasterize_bitmask(info['gt_polygons'], shape, len(HAND_BONE_CLASSES))
    return info['img_path'], unpack_bits(bits, len(HAND_BONE_CLASSES)).astype(bool)


@pytest.fixture(scope='module')
def priors(phantom_root, tmp_path_factory):
    """``tools/analysis_tools/anatomy_priors.py`` on the training phantoms: (the priors JSON,
    the tool's stdout)."""
    out = str(tmp_path_factory.mktemp('priors') / 'priors.json')
    proc = run_tool('tools/analysis_tools/anatomy_priors.py', '--data-root',
                    osp.join(phantom_root, 'train'), '--out', out)
    return out, proc.stdout


def test_priors_check_gallery_and_pseudo_label_filter(phantom_root, priors, tmp_path):
    """A submission of two training phantoms: one exactly as annotated (kept), one with
    its Radius erased (flagged 'missing': the Radius is in every annotation). The
    checker flags only the second and draws it; the pseudo-labeller writes only the
    first, with the classes of its masks, unless --max-score lets the flagged one pass.
    """
    train_root = osp.join(phantom_root, 'train')
    priors, out = priors
    assert 'from 10 annotated images' in out

    kept_path, kept_masks = _annotated_masks(train_root, 0)
    flagged_path, flagged_masks = _annotated_masks(train_root, 3)
    flagged_masks[HAND_BONE_CLASSES.index('Radius')] = False
    kept, flagged = osp.basename(kept_path), osp.basename(flagged_path)
    image_root = osp.join(train_root, 'DCM')
    submission = str(tmp_path / 'sub.csv')
    with SubmissionWriter(submission, HAND_BONE_CLASSES) as writer:
        writer.write_image(kept, kept_masks)
        writer.write_image(flagged, flagged_masks)

    out = run_tool('tools/analysis_tools/check_anatomy.py', submission, image_root, '--priors',
                   priors, '--out-dir', str(tmp_path / 'anatomy')).stdout
    assert '1 of 2 images flagged' in out
    with open(tmp_path / 'anatomy' / 'findings.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert [(r['class'], r['kind']) for r in rows if r['image_name'] == flagged] == \
        [('Radius', 'missing')]
    assert [(float(r['score']), r['class']) for r in rows if r['image_name'] == kept] == \
        [(0.0, '')]
    gallery = glob.glob(str(tmp_path / 'anatomy' / 'gallery' / '*.png'))
    assert [osp.basename(g) for g in gallery] == [f'001_{osp.splitext(flagged)[0]}.png']
    html = (tmp_path / 'anatomy' / 'index.html').read_text()
    assert flagged in html and 'Radius' in html and kept not in html

    def written(out_dir):
        return sorted(osp.relpath(p, out_dir) for p in glob.glob(osp.join(out_dir, '*', '*')))

    def relative_json(path):
        return osp.splitext(osp.relpath(path, image_root))[0] + '.json'

    clean_dir = str(tmp_path / 'clean')
    clean_only = run_tool('tools/pseudo_label.py', submission, image_root, clean_dir,
                          '--priors', priors).stdout
    assert 'wrote 1 annotation files' in clean_only
    assert 'skipped 1 with anatomical findings' in clean_only
    assert written(clean_dir) == [relative_json(kept_path)]
    with open(osp.join(clean_dir, relative_json(kept_path))) as f:
        labels = {a['label'] for a in json.load(f)['annotations']}
    assert labels == {HAND_BONE_CLASSES[c] for c in range(len(HAND_BONE_CLASSES))
                      if kept_masks[c].any()}

    all_dir = str(tmp_path / 'all')
    keep_all = run_tool('tools/pseudo_label.py', submission, image_root, all_dir,
                        '--priors', priors, '--max-score', '1e9').stdout
    assert 'wrote 2 annotation files' in keep_all and 'skipped 0' in keep_all
    assert written(all_dir) == sorted([relative_json(kept_path), relative_json(flagged_path)])
    with open(osp.join(all_dir, relative_json(flagged_path))) as f:
        assert 'Radius' not in {a['label'] for a in json.load(f)['annotations']}


def test_visualize_titles_legend_errors_and_findings(tiny_run, priors, tmp_path):
    config, ckpt = tiny_run
    run_tool('tools/analysis_tools/visualize.py', config, ckpt, '--out-dir',
             str(tmp_path / 'vis'), '--num', '1', '--priors', priors[0])
    [figure] = glob.glob(str(tmp_path / 'vis' / '*.png'))
    image = cv2.imread(figure)
    # three 128 px panels (ground truth, prediction, errors) under title bars, and a legend
    assert image.shape[0] > 128 and image.shape[1] > 3 * 128
