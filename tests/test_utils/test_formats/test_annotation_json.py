import numpy as np

from mmseg_ext.datasets.phantoms import render_hand
from mmseg_ext.datasets.transforms.loading import rasterize_bitmask
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.annotation_json import mask_to_polygons, masks_to_annotations
from mmseg_ext.utils.masks.bitmask import unpack_bits
from mmseg_ext.utils.masks.dice_counts import dice_from_counts


def test_round_trip_through_polygons_keeps_masks():
    _, bones = render_hand(256, np.random.default_rng(0), left=True)
    index = {c: i for i, c in enumerate(HAND_BONE_CLASSES)}
    masks = unpack_bits(rasterize_bitmask([(index[k], v) for k, v in bones.items()],
                                          (256, 256)), 29)
    content = masks_to_annotations(masks, HAND_BONE_CLASSES)
    assert {a['label'] for a in content['annotations']} == set(HAND_BONE_CLASSES)
    polygons = [(index[a['label']], np.array(a['points'], np.float32))
                for a in content['annotations']]
    back = unpack_bits(rasterize_bitmask(polygons, (256, 256)), 29)
    inter = (masks & back).sum(axis=(1, 2))
    counts = np.stack([inter, back.sum(axis=(1, 2)), masks.sum(axis=(1, 2))])
    assert dice_from_counts(counts).min() > 0.98


def test_small_components_dropped():
    mask = np.zeros((20, 20), bool)
    mask[2:10, 2:10] = True
    mask[15:17, 15:17] = True
    assert len(mask_to_polygons(mask)) == 2
    assert len(mask_to_polygons(mask, min_area=10)) == 1
    assert mask_to_polygons(np.zeros((5, 5), bool)) == []
