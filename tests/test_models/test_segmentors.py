import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from mmseg_ext.utils.bitmask import pack_bits
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
    model.test_cfg['output_probs'] = True
    with torch.no_grad():
        outputs = model.test_step(batch)
    pred = outputs[0].pred_sem_seg.data
    assert pred.shape == (NUM_CLASSES, size, size) and pred.dtype == torch.bool
    probs = outputs[0].seg_logits.data
    assert probs.min() >= 0 and probs.max() <= 1
    model.test_cfg['output_probs'] = False  # the default: masks only
    with torch.no_grad():
        masks_only = model.test_step(batch)[0]
    assert 'seg_logits' not in masks_only
    assert torch.equal(masks_only.pred_sem_seg.data, pred)
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


@pytest.mark.parametrize('gaussian', [False, True])
def test_slide_inference(gaussian):
    cfg = _hrnet_cfg()
    cfg.test_cfg = dict(mode='slide', crop_size=(32, 32), stride=(24, 24), gaussian=gaussian,
                        window_batch=2)
    model = MODELS.build(cfg).eval()
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
    cfg = Config.fromfile(DEMO_CONFIG.replace('demo/hrnet_w18_phantom_cpu', 'smp/unetplusplus_r34_hand')).model
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
