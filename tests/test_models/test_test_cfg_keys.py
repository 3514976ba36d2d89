"""test_cfg keys: the segmentor's slide keys plus the mask rule's, checked when the model is
built, ``cleanup``'s keys too."""
import pytest
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.deploy.spec import DeploySpec
from mmseg_ext.models.segmentors.multilabel_mixin import MultiLabelSegmentorMixin
from mmseg_ext.utils.postprocessing.mask_cleanup import CLEANUP_KEYS
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from tests.helpers import DEMO_CONFIG

check_test_cfg = MultiLabelSegmentorMixin.check_test_cfg


def test_misspelt_test_cfg_key_names_the_nearest_one():
    with pytest.raises(KeyError, match="unknown key 'treshold'; did you mean 'threshold'"):
        check_test_cfg(dict(mode='whole', treshold=0.4))
    check_test_cfg(dict(mode='slide', crop_size=(8, 8), stride=(4, 4), threshold=0.5,
                        cleanup=dict(min_area=3)))
    with pytest.raises(KeyError, match="'output_probs'"):  # probabilities: add_probs
        check_test_cfg(dict(output_probs=True))


def test_cleanup_keys_are_clean_masks_arguments():
    assert CLEANUP_KEYS == ('classes', 'keep_largest', 'min_area', 'close_kernel', 'fill_holes')
    check_test_cfg(dict(cleanup={key: None for key in CLEANUP_KEYS}))
    with pytest.raises(KeyError, match="test_cfg.cleanup: unknown key 'min_aera'; did you "
                       "mean 'min_area'"):
        check_test_cfg(dict(cleanup=dict(keep_largest=True, min_aera=3)))


@pytest.mark.parametrize('test_cfg, message', [
    (dict(mode='whole', clenup=dict(min_area=3)), "did you mean 'cleanup'"),
    (dict(mode='whole', cleanup=dict(fill_hole=True)), "test_cfg.cleanup: unknown key "
     "'fill_hole'; did you mean 'fill_holes'"),
])
def test_model_build_refuses_a_misspelt_key(test_cfg, message):
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.test_cfg = test_cfg
    with pytest.raises(KeyError, match=message):
        MODELS.build(cfg)


def test_the_deploy_json_has_every_mask_rule_key():
    spec = DeploySpec(class_names=['a'], scale=[8, 8], mean=[0.0], std=[1.0], threshold=0.4,
                      cleanup=dict(min_area=3))
    rule = MaskRule.from_test_cfg(spec.test_cfg)
    assert (rule.threshold, rule.cleanup, rule.crf) == (0.4, [dict(min_area=3)], False)
