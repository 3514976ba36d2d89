import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.models.segmentors.multilabel_tta import MultiLabelTTAModel
from mmseg_ext.utils.mask_rule import MaskRule


class _Module(torch.nn.Module):
    mask_rule = MaskRule(threshold=0.5)


def _views(values):
    views = []
    for v in values:
        sample = SegDataSample(metainfo=dict(ori_shape=(1, 1)))
        sample.seg_logits = PixelData(data=torch.tensor(v).view(2, 1, 1))
        views.append(sample)
    return [views]


@pytest.mark.parametrize('merge,expected', [
    ('prob', [True, False]),    # means 0.6 / 0.4667
    ('logit', [True, False]),
    ('vote', [True, True]),     # 2 of 3 views above 0.5 in both classes
])
def test_merge_modes_are_per_class(merge, expected):
    tta = MultiLabelTTAModel.__new__(MultiLabelTTAModel)
    torch.nn.Module.__init__(tta)
    tta.module = _Module()
    tta.merge = merge
    tta.output_probs = True
    out = tta.merge_preds(_views([[0.9, 0.6], [0.6, 0.7], [0.3, 0.1]]))[0]
    assert out.pred_sem_seg.data.flatten().tolist() == expected
    assert out.seg_logits.data.shape == (2, 1, 1)


def test_bad_merge_name():
    with pytest.raises(ValueError, match='merge'):
        MultiLabelTTAModel(module=dict(type='x'), merge='median')


def test_merge_does_not_alter_the_views():
    views = _views([[0.9, 0.6], [0.6, 0.7]])
    before = [v.seg_logits.data.clone() for v in views[0]]
    tta = MultiLabelTTAModel.__new__(MultiLabelTTAModel)
    torch.nn.Module.__init__(tta)
    tta.module, tta.merge, tta.output_probs = _Module(), 'prob', False
    out = tta.merge_preds(views)[0]
    assert all(torch.equal(v.seg_logits.data, b) for v, b in zip(views[0], before))
    assert 'seg_logits' not in out  # masks only unless probabilities are asked for
