import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.utils.masks.bitmask import pack_bits
from tests.helpers import DEMO_CONFIG, TINY_HRNET_EXTRA

NUM_CLASSES = 29


def _batch(size=64, batch=2, seed=0):
    """Random images and overlapping multi-label targets, packed like the pipeline."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        masks = torch.zeros(NUM_CLASSES, size, size, dtype=torch.bool)
        for c in range(NUM_CLASSES):
            y, x = torch.randint(0, size - 16, (2, ), generator=g).tolist()
            masks[c, y:y + 16, x:x + 16] = True
        inputs.append(torch.randint(0, 255, (3, size, size), generator=g, dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             img_path='x.png'))
        sample.gt_sem_seg = PixelData(data=pack_bits(masks)[None].long())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _hrnet_cfg():
    cfg = Config.fromfile(DEMO_CONFIG).model
    cfg.backbone.extra = copy.deepcopy(TINY_HRNET_EXTRA)
    cfg.decode_head.in_channels = [8, 16, 32, 64]
    cfg.decode_head.channels = 120
    return cfg


def _train_step_and_predict(model, size=64):
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    model.train()
    losses = model.train_step(_batch(size), optim)
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    batch = _batch(size, batch=1)
    with torch.no_grad():
        outputs = model.test_step(batch)
    pred = outputs[0].pred_sem_seg.data
    assert pred.shape == (NUM_CLASSES, size, size) and pred.dtype == torch.bool
    assert 'seg_logits' not in outputs[0]  # masks only; probabilities: add_probs
    probs = model.add_probs(batch)
    assert probs.shape == pred.shape and probs.min() >= 0 and probs.max() <= 1
    assert ((probs > 0.5) != pred).float().mean() < 1e-3  # same masks up to float rounding
    return losses


def test_hrnet_multilabel_train_and_predict():
    model = MODELS.build(_hrnet_cfg())
    losses = _train_step_and_predict(model)
    assert set(losses) == {'loss', 'decode.loss_bce', 'decode.loss_dice'}


def test_hrnet_ocr_cascade_train_and_predict():
    cfg = _hrnet_cfg()
    head = cfg.decode_head
    cfg.type = 'MultiLabelCascadeEncoderDecoder'
    cfg.num_stages = 2
    cfg.decode_head = [
        head,
        dict(type='OCRHead', in_channels=[8, 16, 32, 64], in_index=(0, 1, 2, 3),
             input_transform='resize_concat', channels=32, ocr_channels=16, dropout_ratio=-1,
             num_classes=NUM_CLASSES, norm_cfg=dict(type='BN', requires_grad=True),
             align_corners=False, loss_decode=copy.deepcopy(head.loss_decode)),
    ]
    losses = _train_step_and_predict(MODELS.build(cfg))
    assert {'decode_0.loss_dice', 'decode_1.loss_dice', 'decode_1.loss_bce'} <= set(losses)


def test_prediction_is_at_original_size_and_thresholded_per_class():
    cfg = _hrnet_cfg()
    cfg.test_cfg = dict(mode='whole', threshold=[0.0] * 28 + [1.0])
    model = MODELS.build(cfg).eval()
    batch = _batch(64, batch=1)
    batch['data_samples'][0].set_metainfo(dict(ori_shape=(100, 90)))
    with torch.no_grad():
        pred = model.test_step(batch)[0].pred_sem_seg.data
    assert pred.shape == (NUM_CLASSES, 100, 90)
    assert pred[:28].all() and not pred[28].any()


# Sliding windows of 32 px every 24 px on a 64 px image start at 0, 24 and 32 (the last
# window ends at the border): rows/columns 0-23 and 56-63 lie in one window only, 24-55 in two.
SLIDE = dict(mode='slide', crop_size=(32, 32), stride=(24, 24))
STARTS = (0, 24, 32)
ONE_WINDOW = torch.cat([torch.arange(0, 24), torch.arange(56, 64)])


def _slide_model(gaussian, window_batch=1):
    cfg = _hrnet_cfg()
    cfg.test_cfg = dict(SLIDE, gaussian=gaussian, window_batch=window_batch)
    return MODELS.build(cfg).eval()


def _window_mean_logits(crops, metas):
    """A stand-in ``encode_decode`` whose windows disagree where they overlap: each
    pixel's value plus its window's mean (a constant that depends on where the window is)."""
    assert all(tuple(m['img_shape']) == tuple(crops.shape[2:]) for m in metas)
    content = crops[:, :1] / 10
    window_mean = crops.mean(dim=(1, 2, 3), keepdim=True)
    return (content + window_mean).expand(-1, NUM_CLASSES, -1, -1)


def _ramp(size=64):
    """(1, 3, size, size): every window has a different mean."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    return (yy * 1.0 + xx * 0.37).float()[None, None].expand(1, 3, -1, -1).contiguous()


def _slide(model, inputs, encode_decode=None):
    if encode_decode is not None:
        model.encode_decode = encode_decode  # the instance's: both blends call it
    metas = [dict(img_shape=inputs.shape[2:], ori_shape=inputs.shape[2:])]
    with torch.no_grad():
        return model.slide_inference(inputs, metas)


def _expected_blends(inputs):
    """(flat, gaussian) logits computed here from the window grid: the plain mean of
    the covering windows' values, and the mean weighted by a Gaussian centred on each
    window (sigma = 1/8 of the window side, nnU-Net's; floored at 1e-6)."""
    image = inputs[0, 0]
    side, sigma = 32, 32 / 8
    axis = torch.arange(64, dtype=torch.float64)
    total = torch.zeros(64, 64, dtype=torch.float64)
    weighted = torch.zeros(64, 64, dtype=torch.float64)
    count = torch.zeros(64, 64, dtype=torch.float64)
    weight_sum = torch.zeros(64, 64, dtype=torch.float64)
    for y in STARTS:
        for x in STARTS:
            value = image[y:y + side, x:x + side].double().mean()
            inside_y = (axis >= y) & (axis < y + side)
            inside_x = (axis >= x) & (axis < x + side)
            inside = (inside_y[:, None] & inside_x[None, :]).double()
            gy = torch.exp(-0.5 * ((axis - y - (side - 1) / 2) / sigma) ** 2)
            gx = torch.exp(-0.5 * ((axis - x - (side - 1) / 2) / sigma) ** 2)
            weight = inside * (gy[:, None] * gx[None, :]).clamp_min(1e-6)
            total += inside * value
            count += inside
            weighted += weight * value
            weight_sum += weight
    content = image.double() / 10
    return content + total / count, content + weighted / weight_sum


def test_gaussian_slide_differs_from_flat_exactly_where_windows_overlap():
    inputs = _ramp()
    flat = _slide(_slide_model(False), inputs, _window_mean_logits)
    gauss = _slide(_slide_model(True), inputs, _window_mean_logits)
    assert flat.shape == gauss.shape == (1, NUM_CLASSES, 64, 64)
    # every class the same here: compare one plane
    flat, gauss = flat[0, 0].double(), gauss[0, 0].double()

    one = torch.zeros(64, 64, dtype=torch.bool)
    one[ONE_WINDOW[:, None], ONE_WINDOW[None, :]] = True
    # one window: both blends are that window's logits
    assert torch.allclose(gauss[one], flat[one], atol=1e-4, rtol=0)
    # two or four windows that disagree: the weights matter everywhere
    assert (gauss[~one] - flat[~one]).abs().min() > 1e-3

    expected_flat, expected_gauss = _expected_blends(inputs)
    assert torch.allclose(flat, expected_flat, atol=1e-4, rtol=0)
    assert torch.allclose(gauss, expected_gauss, atol=1e-4, rtol=0)


def test_gaussian_slide_leans_to_the_window_whose_centre_is_nearer():
    """Rows 24-31 of columns 0-23 lie in windows starting at row 0 (centre 15.5) and at
    row 24 (centre 39.5): the Gaussian blend is nearer the first window's value in rows
    24-27, nearer the second's in rows 28-31; the flat blend is their mean throughout."""
    inputs = _ramp()
    flat = _slide(_slide_model(False), inputs, _window_mean_logits)[0, 0, 24:32, :24]
    gauss = _slide(_slide_model(True), inputs, _window_mean_logits)[0, 0, 24:32, :24]
    content = inputs[0, 0, 24:32, :24] / 10
    upper = inputs[0, 0, 0:32, 0:32].mean()
    lower = inputs[0, 0, 24:56, 0:32].mean()
    assert torch.allclose(flat - content, (upper + lower) / 2 * torch.ones_like(flat), atol=1e-4)
    share_of_lower = (gauss - content - upper) / (lower - upper)  # 0: upper's value, 1: lower's
    assert (share_of_lower[:4] < 0.5).all() and (share_of_lower[4:] > 0.5).all()
    assert (share_of_lower[1:] > share_of_lower[:-1]).all(), 'more lower weight row by row'


def test_gaussian_slide_window_batch_does_not_change_logits():
    inputs = _ramp()
    one_by_one = _slide(_slide_model(True, window_batch=1), inputs, _window_mean_logits)
    four_at_once = _slide(_slide_model(True, window_batch=4), inputs, _window_mean_logits)
    assert torch.allclose(one_by_one, four_at_once, atol=1e-5, rtol=0)


def test_slide_with_a_real_network_blends_only_where_windows_overlap():
    """The tiny HRNet's logits depend on each window's context, so overlapping windows
    disagree: the blends differ there and agree where a single window covers a pixel."""
    torch.manual_seed(0)
    flat_model = _slide_model(False)
    gauss_model = _slide_model(True, window_batch=2)
    gauss_model.load_state_dict(flat_model.state_dict())
    inputs = torch.randn(1, 3, 64, 64)
    flat, gauss = _slide(flat_model, inputs), _slide(gauss_model, inputs)
    one = torch.zeros(64, 64, dtype=torch.bool)
    one[ONE_WINDOW[:, None], ONE_WINDOW[None, :]] = True
    diff = (gauss - flat).abs()[0]  # (C, 64, 64)
    assert diff[:, one].max() < 1e-4
    assert (diff[:, ~one] > 1e-4).float().mean() > 0.5


@pytest.mark.parametrize('gaussian', [False, True])
def test_slide_prediction_is_at_original_size(gaussian):
    model = _slide_model(gaussian, window_batch=2)
    with torch.no_grad():
        out = model.test_step(_batch(64, batch=1))[0]
    assert out.pred_sem_seg.data.shape == (NUM_CLASSES, 64, 64)


SMP_ARCHS = {
    'Unet': 'resnet18', 'UnetPlusPlus': 'resnet18', 'FPN': 'resnet18', 'PSPNet': 'resnet18',
    'DeepLabV3': 'resnet18', 'DeepLabV3Plus': 'resnet18', 'Linknet': 'resnet18',
    'MAnet': 'resnet18', 'PAN': 'resnet18', 'UPerNet': 'resnet18', 'Segformer': 'resnet18',
    'DPT': 'tu-vit_tiny_patch16_224',
}


def test_every_smp_architecture_is_covered():
    import segmentation_models_pytorch as smp
    assert set(SMP_ARCHS) == {c.__name__ for c in smp.MODEL_ARCHITECTURES_MAPPING.values()}


@pytest.mark.parametrize('arch', sorted(SMP_ARCHS))
def test_smp_architecture_train_and_predict(arch):
    cfg = Config.fromfile(DEMO_CONFIG.replace('demo/hrnet_w18_phantom_cpu',
                                              'smp/unetplusplus_r34_hand')).model
    cfg.arch = arch
    cfg.encoder_name = SMP_ARCHS[arch]
    size = {'DPT': 224, 'PAN': 128}.get(arch, 64)
    losses = _train_step_and_predict(MODELS.build(cfg), size=size)
    assert set(losses) == {'loss', 'decode.loss_bce', 'decode.loss_dice'}


def test_mmpretrain_backbone_cross_scope():
    cfg = _hrnet_cfg()
    cfg.backbone = dict(type='mmpretrain.ResNet', depth=18, out_indices=(0, 1, 2, 3))
    cfg.decode_head.in_channels = [64, 128, 256, 512]
    cfg.decode_head.channels = 64
    model = MODELS.build(cfg)
    assert type(model.backbone).__module__.startswith('mmpretrain')
    _train_step_and_predict(model)
