import glob
import os.path as osp

import numpy as np
import torch
from mmcv.transforms import Compose

from mmseg_ext.utils.hand_side import side_from_filename, side_from_image
from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms


def test_side_from_filename_never_splits_on_underscore():
    assert side_from_filename('DCM/ID001/image1661130828152_R.png') == 'R'
    assert side_from_filename('x/my_scan_l.dcm') == 'L'
    assert side_from_filename('x/image_Left.png') is None


def test_side_from_image_on_phantoms(phantom_root):
    import cv2
    paths = sorted(glob.glob(osp.join(phantom_root, 'train', 'DCM', '*', '*.png')))
    for path in paths:
        assert side_from_image(cv2.imread(path, cv2.IMREAD_GRAYSCALE)) == side_from_filename(path)


def test_left_hand_is_flipped_with_masks_and_prediction_flips_back(phantom_root):
    path = sorted(glob.glob(osp.join(phantom_root, 'train', 'DCM', '*', '*_L.png')))[0]
    pipeline = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations'),
                        dict(type='HandSideNormalize', use_filename=False)])
    plain = Compose([dict(type='LoadXRayImage'), dict(type='LoadHandBoneAnnotations')])
    info = dict(img_path=path, seg_map_path=path.replace('DCM', 'outputs_json')[:-4] + '.json',
                seg_fields=[])
    flipped, original = pipeline(dict(info)), plain(dict(info))
    assert flipped['hand_side'] == 'L' and flipped['hand_flip']
    assert (flipped['img'] == original['img'][:, ::-1]).all()
    assert (flipped['gt_seg_map'] == original['gt_seg_map'][:, ::-1]).all()
    logits = torch.from_numpy(flipped['gt_seg_map'].astype(np.float32))[None, None]
    restored = undo_test_transforms(
        logits, dict(hand_flip=True, flip=True, flip_direction='horizontal'))
    assert torch.equal(restored[0, 0], logits[0, 0])  # two flips cancel
    restored = undo_test_transforms(logits, dict(hand_flip=True))
    assert (restored[0, 0].numpy() == original['gt_seg_map']).all()


def test_exported_preprocessing_flips_as_the_transform(phantom_root):
    """The export reads the built transform's arguments; its decision is the transform's."""
    from mmseg_ext.deploy.export import _hand_side_options
    from mmseg_ext.deploy.preprocess import hand_flip_needed
    step = dict(type='HandSideNormalize', use_filename=False)
    options = dict(_hand_side_options(step), before_resize=True)
    pipeline = Compose([dict(type='LoadXRayImage', num_channels=1), step])
    flips = []
    for path in sorted(glob.glob(osp.join(phantom_root, 'train', 'DCM', '*', '*.png'))):
        results = pipeline(dict(img_path=path))
        image = results['img'][:, ::-1] if results['hand_flip'] else results['img']
        assert hand_flip_needed(np.squeeze(image), path, options) == results['hand_flip']
        flips.append(results['hand_flip'])
    assert any(flips) and not all(flips)
