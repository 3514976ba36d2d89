import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

LOSSES = ['MultiLabelBCELoss', 'MultiLabelBoundaryBCELoss', 'MultiLabelFocalLoss',
          'MultiLabelTverskyLoss', 'MultiLabelFocalTverskyLoss', 'MultiLabelDiceLoss',
          'MultiLabelJaccardLoss']


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(2, 4, 8, 8, generator=g, requires_grad=True)
    target = (torch.rand(2, 4, 8, 8, generator=g) > 0.7)
    return pred, target


@pytest.mark.parametrize('name', LOSSES)
def test_loss_is_finite_differentiable_and_smaller_for_better_logits(name):
    loss_fn = MODELS.build(dict(type=name))
    pred, target = _data()
    loss = loss_fn(pred, target)
    loss.backward()
    assert torch.isfinite(loss) and pred.grad.abs().sum() > 0
    good = (target.float() * 2 - 1) * 6
    assert loss_fn(good, target) < loss_fn(-good, target)
    assert loss_fn.loss_name.startswith('loss_')


@pytest.mark.parametrize('name', LOSSES)
def test_padded_pixels_are_ignored(name):
    loss_fn = MODELS.build(dict(type=name))
    pred, target = _data()
    valid = torch.ones(2, 1, 8, 8, dtype=torch.bool)
    valid[..., 6:] = False
    garbage_pred, garbage_target = pred.detach().clone(), target.clone()
    garbage_pred[..., 6:] = 50.0
    garbage_target[..., 6:] = False
    assert torch.allclose(loss_fn(pred, target, valid),
                          loss_fn(garbage_pred, garbage_target, valid))


@pytest.mark.parametrize('name', LOSSES)
def test_class_weight_selects_classes(name):
    pred, target = _data()
    only_first = MODELS.build(dict(type=name, class_weight=[1.0, 0, 0, 0]))
    plain = MODELS.build(dict(type=name))
    assert torch.allclose(only_first(pred, target), plain(pred[:, :1], target[:, :1]), atol=1e-6)


def test_bce_matches_torch_and_pos_weight_is_per_class():
    pred, target = _data()
    loss = MODELS.build(dict(type='MultiLabelBCELoss', pos_weight=[1, 2, 3, 4]))(pred, target)
    ref = F.binary_cross_entropy_with_logits(
        pred, target.float(), pos_weight=torch.tensor([1., 2, 3, 4]).view(4, 1, 1))
    assert torch.allclose(loss, ref)


def test_dice_loss_is_per_class_not_pooled():
    target = torch.zeros(1, 2, 8, 8, dtype=torch.bool)
    target[0, 0] = True           # a huge class, predicted perfectly
    target[0, 1, 0, 0] = True     # a one-pixel class, missed
    pred = torch.where(target, 20.0, -20.0)
    pred[0, 1, 0, 0] = -20.0
    loss = MODELS.build(dict(type='MultiLabelDiceLoss', smooth=0.0))(pred, target)
    assert loss.item() == pytest.approx(0.5, abs=1e-3)


def test_boundary_band_and_weighting():
    from mmseg_ext.models.losses.boundary_bce_loss import boundary_band
    target = torch.zeros(1, 1, 12, 12, dtype=torch.bool)
    target[0, 0, 4:8, 4:8] = True
    band = boundary_band(target, 1)[0, 0]
    assert band[3:9, 3:9].sum() == 36 - 4 + 0 and not band[0, 0] and not band[5:7, 5:7].any()
    pred = torch.zeros(1, 1, 12, 12)
    plain = MODELS.build(dict(type='MultiLabelBCELoss'))(pred, target)
    weighted = MODELS.build(dict(type='MultiLabelBoundaryBCELoss', band_width=1,
                                 boundary_weight=1.0))(pred, target)
    assert weighted == pytest.approx(plain.item() * (1 + 32 / 144), rel=1e-5)
