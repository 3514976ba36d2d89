import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.utils.postprocessing.box_merge import upsample_and_threshold
from mmseg_ext.utils.postprocessing.original_size import add_upsampled, add_votes


def _blobs(classes=5, size=(24, 20), seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(classes, *size, generator=g) * 2 - 6
    logits[1, 3:9, 4:10] += 10   # an interior blob
    logits[2, :4, :] += 10       # touching the top border and full width
    logits[3, -2:, -3:] += 10    # bottom-right corner
    return logits               # class 0 and 4: (almost surely) empty


@pytest.mark.parametrize('factor', [1, 2, 3, 4])
def test_equals_full_interpolation_for_integer_factors(factor):
    logits = _blobs()
    thresholds = torch.tensor([0.5, 0.3, 0.5, 0.7, 0.5]).view(-1, 1, 1)
    out = (24 * factor, 20 * factor)
    full = F.interpolate(logits[None], size=out, mode='bilinear', align_corners=False)[0]
    expected = full.sigmoid() > thresholds
    assert expected[1:4].any(dim=(1, 2)).all()
    assert torch.equal(upsample_and_threshold(logits, out, thresholds, False), expected)


@pytest.mark.parametrize('out', [(50, 41), (30, 25)])
def test_non_integer_factors_fall_back_to_full_interpolation(out):
    logits = _blobs()
    thresholds = torch.full((5, 1, 1), 0.5)
    full = F.interpolate(logits[None], size=out, mode='bilinear', align_corners=False)[0]
    got = upsample_and_threshold(logits, out, thresholds, False)
    assert torch.equal(got, full.sigmoid() > thresholds)


def test_add_upsampled_adds_each_space_with_per_class_weights():
    logits = _blobs(size=(12, 10))
    out = (24, 20)
    full = F.interpolate(logits[None], size=out, mode='bilinear', align_corners=False)[0]
    weights = torch.tensor([1.0, 0.5, 2.0, 0.0, 3.0]).view(-1, 1, 1)
    probs = add_upsampled(None, logits, out, weights)
    assert torch.allclose(probs, full.sigmoid() * weights, atol=1e-6)
    total = add_upsampled(probs.clone(), logits, out, 1.0, space='logit')
    assert torch.allclose(total, full.sigmoid() * weights + full, atol=1e-5)
    thresholds = torch.tensor([0.5, 0.3, 0.5, 0.7, 0.5]).view(-1, 1, 1)
    votes = add_votes(None, logits, out, thresholds, 2.0)
    assert torch.equal(votes, (full.sigmoid() > thresholds).float() * 2)
    for space in ('vote', 'median'):
        with pytest.raises(ValueError, match='space'):
            add_upsampled(None, logits, out, space=space)
