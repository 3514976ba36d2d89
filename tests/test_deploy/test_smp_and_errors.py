"""An exported SMP model (with test-time padding), and the errors an exported model gives."""
import json
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from mmseg_ext.deploy.spec import DeployError
from tests.conftest import REPO_ROOT
from tests.helpers import run_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


def _smp_config(phantom_root, tmp_path) -> str:
    """SMP Unet, resnet18 encoder (no weights downloaded), tested at 80 px padded to 96."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'smp', 'unetplusplus_r34_hand.py'))
    cfg.model.update(arch='Unet', encoder_name='resnet18', encoder_weights=None)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (80, 80)
    cfg.test_dataloader.dataset.data_root = osp.join(phantom_root, 'test')
    path = str(tmp_path / 'smp.py')
    cfg.dump(path)
    return path


def test_exported_smp_member_equals_pytorch_member(phantom_root, tmp_path):
    from mmseg_ext.apis import CheckpointMember
    from mmseg_ext.deploy.export import export_onnx, load_segmentor
    from mmseg_ext.deploy.onnx_member import ExportedMember
    config = _smp_config(phantom_root, tmp_path)
    torch.manual_seed(0)
    model, _ = load_segmentor(config, None)
    ckpt = str(tmp_path / 'smp.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    result = export_onnx(config, ckpt, str(tmp_path / 'smp.onnx'))
    assert result.max_abs_diff < 1e-4
    assert result.dynamic_axes == ['batch', 'height', 'width']
    with open(result.spec_path) as f:
        spec = json.load(f)
    assert spec['size_divisor'] == 32 and spec['scale'] == [80, 80]
    images = [osp.join(root, f) for root, _, files in
              os.walk(osp.join(phantom_root, 'test', 'DCM')) for f in files]
    assert images
    reference = CheckpointMember(config, ckpt, device='cpu')
    exported = ExportedMember(result.onnx_path)
    for path in images:
        expected = reference.add_probs(path, None, 1.0)
        got = exported.add_probs(path, None, 1.0)
        assert got.shape == expected.shape == (29, 128, 128)
        assert (got - expected).abs().max() < 1e-4


@pytest.fixture(scope='module')
def static_tiny(phantom_root, tmp_path_factory):
    """The tiny model (its initial weights: the errors do not depend on them) exported with
    a fixed 1x3x64x64 input (TorchScript exporter)."""
    from mmseg_ext.deploy.export import export_onnx
    from tests.helpers import tiny_config
    tmp = tmp_path_factory.mktemp('static')
    config = str(tmp / 'tiny.py')
    tiny_config(phantom_root, str(tmp / 'work')).dump(config)
    out = str(tmp / 'static.onnx')
    result = export_onnx(config, None, out, exporter='torchscript', dynamic=False)
    assert result.input_shape == [1, 3, 64, 64] and result.dynamic_axes == []
    return out


@pytest.mark.slow
def test_mismatched_input_size_names_the_model(static_tiny, phantom_root, tmp_path):
    model = str(tmp_path / 'static.onnx')
    shutil.copy(static_tiny, model)
    spec = json.load(open(static_tiny[:-5] + '.json'))
    spec['scale'] = [96, 96]  # images now reach the network at 96 px
    json.dump(spec, open(model[:-5] + '.json', 'w'))
    proc = run_tool('tools/predict.py', '--model', model, '--image-root',
                    osp.join(phantom_root, 'test', 'DCM'), '--submission',
                    str(tmp_path / 'out.csv'), check=False)
    assert proc.returncode != 0
    assert f'error: {model}: input height is fixed at 64 in this export, got 96' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'out.csv').exists()


def _custom_op_model(tmp_path, static_tiny) -> str:
    """A graph with an op no backend implements, and a valid JSON beside it."""
    from onnx import TensorProto, helper
    node = helper.make_node('BoneMagic', ['input'], ['logits'], domain='com.example')
    graph = helper.make_graph(
        [node], 'g', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 29, 64, 64])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18),
                                                    helper.make_opsetid('com.example', 1)])
    path = str(tmp_path / 'custom.onnx')
    onnx.save(model, path)
    shutil.copy(static_tiny[:-5] + '.json', path[:-5] + '.json')
    return path


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_unsupported_op_names_the_model_and_op(backend, static_tiny, tmp_path):
    from mmseg_ext.deploy.onnx_member import ExportedMember
    if backend == 'openvino':
        pytest.importorskip('openvino')
    path = _custom_op_model(tmp_path, static_tiny)
    with pytest.raises(DeployError, match=f'{path}: {backend} cannot load the model; ops it '
                       'may not implement: com.example.BoneMagic'):
        ExportedMember(path, backend=backend)


def test_missing_json_names_it(static_tiny, tmp_path):
    from mmseg_ext.deploy.onnx_member import ExportedMember
    path = str(tmp_path / 'alone.onnx')
    shutil.copy(static_tiny, path)
    with pytest.raises(DeployError, match=f'{tmp_path}/alone.json: not found'):
        ExportedMember(path)
    with pytest.raises(DeployError, match='exported model not found'):
        ExportedMember(str(tmp_path / 'nothing.onnx'))


@pytest.mark.parametrize('pad_size, size_divisor', [(None, 32), ([96, 112], None)])
def test_padded_shape_is_the_data_preprocessors(pad_size, size_divisor):
    from mmseg.utils import stack_batch

    from mmseg_ext.deploy.spec import DeploySpec
    spec = DeploySpec(class_names=['a'], scale=[80, 80], mean=[0.0], std=[1.0],
                      pad_size=pad_size, size_divisor=size_divisor)
    for height, width in ((80, 75), (100, 130)):
        padded, _ = stack_batch([torch.zeros(1, height, width)], size=pad_size,
                                size_divisor=size_divisor)
        assert spec.padded_shape(height, width) == tuple(padded.shape[2:])
