"""The multi-label losses and the prediction path under mixed precision (CPU twins).

On a GPU ``--amp`` runs the model under ``torch.autocast('cuda', float16)``;
here the same code runs under ``torch.autocast('cpu', bfloat16)``, and the
float16 overflow case (sums over 1024² pixels > 65504) with float16 logits.
"""
import pytest
import torch
from mmseg.registry import MODELS

LOSSES = ['MultiLabelBCELoss', 'MultiLabelDiceLoss', 'MultiLabelTverskyLoss',
          'MultiLabelFocalTverskyLoss', 'MultiLabelJaccardLoss', 'MultiLabelFocalLoss',
          'MultiLabelBoundaryBCELoss']


def _case(size: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn((2, 3, size, size), generator=gen) * 3
    target = (torch.rand((2, 3, size, size), generator=gen) > 0.6).float()
    return logits, target


@pytest.mark.parametrize('loss_type', LOSSES)
def test_losses_under_cpu_autocast_match_float32(loss_type):
    loss_fn = MODELS.build(dict(type=loss_type))
    logits, target = _case(64)
    reference = loss_fn(logits, target)
    conv = torch.nn.Conv2d(3, 3, 1).requires_grad_(False)
    conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
    conv.bias.zero_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = conv(logits)  # the model's logits arrive in bfloat16
        assert low.dtype == torch.bfloat16
        value = loss_fn(low, target)
    assert value.dtype == torch.float32
    # Only the bfloat16 rounding of the logits (8 bits of mantissa) differs.
    assert value.item() == pytest.approx(reference.item(), rel=2e-2, abs=2e-3)


@pytest.mark.parametrize('loss_type', ['MultiLabelDiceLoss', 'MultiLabelTverskyLoss',
                                       'MultiLabelJaccardLoss', 'MultiLabelBCELoss'])
def test_float16_logits_over_1024_squared_do_not_overflow(loss_type):
    """Confident, correct float16 logits on 1024² pixels: TP sums to 2**20 > 65504."""
    loss_fn = MODELS.build(dict(type=loss_type))
    target = torch.ones((1, 2, 1024, 1024))
    target[:, 1, :512] = 0
    logits = torch.where(target > 0, 8.0, -8.0)
    reference = loss_fn(logits, target)
    value = loss_fn(logits.half(), target)
    assert torch.isfinite(value) and value.dtype == torch.float32
    assert value.item() == pytest.approx(reference.item(), abs=1e-4)
    assert value.item() < 0.01  # near-perfect prediction: near-zero loss
    half_sum = (logits.half().sigmoid() * target.half()).sum()
    assert not torch.isfinite(half_sum), 'the case must overflow a float16 sum'


def test_prediction_under_autocast_thresholds_float32_probabilities():
    from mmseg_ext.models.segmentors.multilabel_mixin import MultiLabelSegmentorMixin

    class Predictor(MultiLabelSegmentorMixin):
        test_cfg = dict(threshold=0.5)
        align_corners = False

    logits = torch.randn((1, 3, 16, 16)) * 4
    reference = Predictor().postprocess_result(logits)[0]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = Predictor().postprocess_result(logits.bfloat16())[0]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        probs = Predictor().add_original_size(logits[0].bfloat16(), dict(ori_shape=(32, 32)))
    assert probs.dtype == torch.float32 and probs.shape == (3, 32, 32)
    assert low.pred_sem_seg.data.dtype == torch.bool
    disagree = (low.pred_sem_seg.data != reference.pred_sem_seg.data).float().mean()
    assert disagree < 0.02  # bfloat16 rounding of logits near 0 only
