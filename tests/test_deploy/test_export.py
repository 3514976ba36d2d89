"""tools/deployment/export_onnx.py: the graph, its check against PyTorch, its JSON."""
import json
import re

import pytest
import torch

from tests.helpers import run_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


@pytest.mark.slow
def test_export_checks_graph_and_reports_dynamic_axes(exported_tiny, tiny_run):
    path, stdout = exported_tiny
    assert 'onnx.checker: ok' in stdout
    diff = float(re.search(r'max abs logit difference to PyTorch on random input: (\S+)',
                           stdout).group(1))
    assert diff < 1e-4
    assert 'dynamic axes: batch, height, width' in stdout
    onnx.checker.check_model(path)
    spec = json.load(open(path[:-len('.onnx')] + '.json'))
    assert spec['scale'] == [64, 64] and spec['keep_ratio'] is True
    assert len(spec['class_names']) == 29 and spec['class_names'][0] == 'finger-1'
    assert spec['mean'] == pytest.approx([123.675, 116.28, 103.53])
    assert spec['threshold'] == 0.5 and spec['size_divisor'] is None
    assert spec['dynamic_axes'] == ['batch', 'height', 'width']
    assert spec['source']['checkpoint'] == tiny_run[1]


def test_upsample_sizes_stay_symbolic(phantom_root, tmp_path):
    """mmseg's Upsample bakes int(size * factor) into a trace; ours keeps it symbolic, so
    the graph is right at sizes other than the example's (PyTorch's logits unchanged)."""
    from mmseg_ext.deploy.export import LogitsNet, load_segmentor, make_traceable
    from mmseg_ext.deploy.runtime import OrtSession
    from tests.helpers import tiny_config
    config = str(tmp_path / 'tiny.py')
    tiny_config(phantom_root, str(tmp_path / 'work')).dump(config)
    model, _ = load_segmentor(config, None)
    net = LogitsNet(model).eval()
    x = torch.randn(1, 3, 128, 64)
    with torch.no_grad():
        before = net(x)
    assert make_traceable(model) > 0
    with torch.no_grad():
        assert torch.equal(net(x), before)
    path = str(tmp_path / 'm.onnx')
    torch.onnx.export(net, (torch.randn(1, 3, 64, 96), ), path, dynamo=False,
                      input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {2: 'h', 3: 'w'}})
    assert abs(OrtSession(path)(x.numpy()) - before.numpy()).max() < 1e-4


@pytest.mark.slow
def test_export_refuses_what_it_cannot_reproduce(tiny_run, tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(tiny_run[0])
    cfg.model.test_cfg.update(mode='slide', crop_size=(32, 32), stride=(16, 16))
    slide = str(tmp_path / 'slide.py')
    cfg.dump(slide)
    proc = run_tool('tools/deployment/export_onnx.py', slide, tiny_run[1], '--out',
                    str(tmp_path / 'x.onnx'), check=False)
    assert proc.returncode != 0
    assert f"{slide}: test_cfg.mode='slide'" in proc.stderr
    assert not (tmp_path / 'x.onnx').exists()


def test_ocr_cascade_exports_with_dynamic_axes(phantom_root, tmp_path):
    """HRNet + OCR (CascadeEncoderDecoder: FCN -> OCR head), tiny, dynamo exporter."""
    from mmengine.config import Config

    from mmseg_ext.deploy.export import export_onnx
    from tests.helpers import REPO_ROOT, TINY_HRNET_EXTRA
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/hrnet/hrnet_w18_ocr_hand.py')
    cfg.model.backbone.extra = TINY_HRNET_EXTRA
    fcn, ocr = cfg.model.decode_head
    fcn.update(in_channels=[8, 16, 32, 64], channels=120)
    ocr.update(in_channels=[8, 16, 32, 64], channels=32, ocr_channels=16)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (64, 64)
    config = str(tmp_path / 'ocr.py')
    cfg.dump(config)
    result = export_onnx(config, None, str(tmp_path / 'ocr.onnx'))
    assert result.dynamic_axes == ['batch', 'height', 'width'], result.note
    assert result.max_abs_diff < 1e-4
