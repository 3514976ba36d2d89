"""Multi-label pictures from mmseg's stock options (``tools/test.py --show-dir``)."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES, hand_bone_palette
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.formats.mask_file import load_mask_file
from mmseg_ext.visualization import MultiLabelSegVisualizer, prediction_figure
from tests.helpers import run_tool

SIZE = 64


def _prediction_panel(drawn):
    """The prediction panel of a figure without ground truth (below its title bar)."""
    bar = drawn.shape[0] - SIZE
    return drawn[bar:bar + SIZE, :SIZE].astype(int)


def test_every_class_drawn_in_its_colour_and_overlaps_mixed(tmp_path):
    palette = hand_bone_palette()
    pred = torch.zeros(29, SIZE, SIZE, dtype=torch.bool)
    pred[0, 0:20, 0:20] = True      # finger-1
    pred[5, 0:20, 40:60] = True     # finger-6
    pred[28, 40:60, 0:40] = True    # Ulna
    pred[27, 40:60, 20:60] = True   # Radius, overlapping the Ulna in x 20..40
    sample = SegDataSample(metainfo=dict(img_path='a.png'))
    sample.pred_sem_seg = PixelData(data=pred)
    vis = MultiLabelSegVisualizer(name='unit', save_dir=str(tmp_path))
    vis.dataset_meta = dict(classes=HAND_BONE_CLASSES, palette=palette)
    out = str(tmp_path / 'a.png')
    vis.add_datasample('a', np.zeros((SIZE, SIZE), np.uint8), sample, out_file=out)
    panel = _prediction_panel(cv2.imread(out)[..., ::-1])

    def expected(*classes):
        return np.rint(0.5 * np.mean([palette[c] for c in classes], axis=0)).astype(int)
    assert np.array_equal(panel[10, 10], expected(0))
    assert np.array_equal(panel[10, 50], expected(5))
    assert np.array_equal(panel[50, 10], expected(28))
    assert np.array_equal(panel[50, 30], expected(27, 28))  # the overlap: both colours
    assert np.array_equal(panel[50, 50], expected(27))
    assert np.array_equal(panel[30, 30], [0, 0, 0])         # no class: the image itself


@pytest.mark.slow
def test_show_dir_draws_all_classes_with_only_test_images(tiny_run, phantom_root, tmp_path):
    """The stock hook read runner.iter (which builds the training dataloader) and painted
    class 0 only; ours works with no training data and draws every predicted class."""
    config, ckpt = tiny_run
    show_dir, mask_dir = tmp_path / 'show', tmp_path / 'masks'
    run_tool('tools/test.py', config, ckpt, '--show-dir', str(show_dir), '--out', str(mask_dir),
             '--work-dir', str(tmp_path / 'work'), '--cfg-options',
             'train_dataloader.dataset.data_root=/nonexistent/train',
             'val_dataloader.dataset.data_root=/nonexistent/train')
    pictures = sorted(glob.glob(str(show_dir / '**' / '*.png'), recursive=True))
    assert len(pictures) == 2, pictures  # both test images (interval 1)
    for path in sorted(glob.glob(osp.join(phantom_root, 'test', 'DCM', '*', '*.png'))):
        name = osp.basename(path)
        [picture] = [p for p in pictures if osp.basename(p).startswith(f'test_{name}')]
        masks, classes = load_mask_file(str(mask_dir / name.replace('.png', '.npz')))
        assert masks.any(axis=(1, 2)).sum() >= 2, 'the checkpoint must predict several bones'
        expected = prediction_figure(read_xray(path), masks, classes, hand_bone_palette(),
                                     f'test_{name}')
        assert np.array_equal(cv2.imread(picture)[..., ::-1], expected)
