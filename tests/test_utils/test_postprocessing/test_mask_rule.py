"""MaskRule: the one path from probabilities to final masks, and where thresholds come from."""
import json

import pytest
import torch

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.thresholds_json import load_thresholds
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule, mask_rule_for


def test_per_class_thresholds_then_cleanup():
    probs = torch.zeros((2, 8, 8))
    probs[:, 1:4, 1:4] = 0.6
    probs[:, 6, 6] = 0.9  # a one-pixel blob
    plain = MaskRule(threshold=[0.5, 0.7])(probs)
    assert plain[0].sum() == 10 and plain[1].sum() == 1
    cleaned = MaskRule(threshold=0.5, cleanup=dict(keep_largest=True))(probs)
    assert cleaned[0].sum() == 9 and not cleaned[0, 6, 6]


def test_thresholds_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match='3 values for 2 classes'):
        MaskRule(threshold=[0.5, 0.5, 0.5])(torch.zeros((2, 4, 4)))


def test_crf_needs_the_image():
    with pytest.raises(ValueError, match='needs the image'):
        MaskRule(crf=True)(torch.zeros((2, 4, 4)))


def test_threshold_precedence(tmp_path):
    """thresholds JSON > test_cfg.threshold > 0.5; the cleanup is kept."""
    path = tmp_path / 't.json'
    path.write_text(json.dumps({'Radius': 0.3}))
    from_json = load_thresholds(str(path), HAND_BONE_CLASSES)
    cfg = dict(threshold=0.6, cleanup=dict(min_area=5))
    assert mask_rule_for(None).threshold == 0.5
    assert mask_rule_for(cfg).threshold == 0.6
    assert mask_rule_for(cfg, from_json).threshold[-2:] == [0.3, 0.5]
    rule = mask_rule_for(cfg, from_json)
    assert rule.cleanup == [dict(min_area=5)]


def test_cleanup_list_applies_each_step_to_its_classes():
    """A cleanup list (a recipe's per-class choice) applies each step to its classes only."""
    masks = torch.zeros((2, 8, 8), dtype=torch.bool)
    masks[:, 1:3, 1:3] = True  # 4 px
    masks[:, 5:6, 5:6] = True  # 1 px
    rule = MaskRule(0.5, [dict(classes=[0], keep_largest=True), dict(classes=[1], min_area=5)])
    out = rule.finish(masks)
    assert out[0].sum() == 4 and not out[0, 5, 5]
    assert out[1].sum() == 0
