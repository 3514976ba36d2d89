"""MaskRule: the one path from probabilities to final masks, and where thresholds come from."""
import json

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.thresholds_json import load_thresholds
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule, check_test_cfg, mask_rule_for
from tests.helpers import DEMO_CONFIG


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
    """search result > thresholds JSON > test_cfg.threshold > 0.5."""
    path = tmp_path / 't.json'
    path.write_text(json.dumps({'Radius': 0.3}))
    from_json = load_thresholds(str(path), HAND_BONE_CLASSES)
    search = [0.8] * len(HAND_BONE_CLASSES)
    cfg = dict(threshold=0.6, cleanup=dict(min_area=5))
    assert mask_rule_for(None).threshold == 0.5
    assert mask_rule_for(cfg).threshold == 0.6
    assert mask_rule_for(cfg, from_json).threshold[-2:] == [0.3, 0.5]
    rule = mask_rule_for(cfg, from_json, search)
    assert rule.threshold == search and rule.cleanup == dict(min_area=5)


def test_misspelt_test_cfg_key_names_the_nearest_one():
    with pytest.raises(KeyError, match="unknown key 'treshold'; did you mean 'threshold'"):
        check_test_cfg(dict(mode='whole', treshold=0.4))
    check_test_cfg(dict(mode='slide', crop_size=(8, 8), stride=(4, 4), threshold=0.5,
                        cleanup=dict(min_area=3)))
    with pytest.raises(KeyError, match="'output_probs'"):  # probabilities: add_probs
        check_test_cfg(dict(output_probs=True))


def test_model_build_refuses_a_misspelt_key():
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.test_cfg = dict(mode='whole', clenup=dict(min_area=3))
    with pytest.raises(KeyError, match="did you mean 'cleanup'"):
        MODELS.build(cfg)
