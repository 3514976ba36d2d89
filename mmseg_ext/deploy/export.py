"""A config + checkpoint -> an ONNX graph (normalised input -> per-class logits) + its JSON.

The graph is the segmentor's ``test_size_logits``, what its ``encode_decode``
computes for one padded batch: backbone, decode head(s) (the cascade's FCN -> OCR
too), and the resize of the logits to the input size; resizing to the original image size, sigmoid,
thresholds and cleanup stay outside (:mod:`mmseg_ext.deploy.onnx_member`).

Exporter: torch's ``dynamo`` exporter (``torch.onnx.export(dynamo=True)``, the
default of torch >= 2.9; needs ``onnxscript``) by default; ``torchscript``
selects the older tracer. Batch, height and width are exported dynamic; each
axis that the exported graph fixes anyway (a shape the model bakes in) is
reported, and a graph whose logits differ from PyTorch's at another input size
is exported again with a fixed size.

Needs mmseg/mmcv (it builds the model); inference from the result does not.
"""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule

from .spec import ANNOTATION_LOADERS, DeployError, DeploySpec, spec_path, write_spec

EXPORTERS = ('dynamo', 'torchscript')
AXES = ('batch', 'channels', 'height', 'width')
# Test-pipeline steps the exported pre-processing need not reproduce.
_SKIPPED = ANNOTATION_LOADERS + ('PackSegInputs', )


@dataclass
class ExportResult:
    """What :func:`export_onnx` made.

    Args:
        onnx_path (str): The graph.
        spec_path (str): Its JSON.
        input_shape (list): Exported input shape, a name where the axis is dynamic.
        dynamic_axes (list[str]): Axes that may vary.
        max_abs_diff (float): Largest |ONNX Runtime - PyTorch| logit on random input.
        exporter (str): 'dynamo' or 'torchscript'.
        note (str): Why the input size was fixed, when it was.
    """
    onnx_path: str
    spec_path: str
    input_shape: list
    dynamic_axes: List[str]
    max_abs_diff: float
    exporter: str
    note: str = ''


class ShapeUpsample(nn.Module):
    """mmseg's ``Upsample`` with an integer ``scale_factor``, its output size kept
    symbolic: mmseg computes ``int(size * factor)``, which an exporter records as
    a constant of the example input, so another input size would be resized
    wrongly inside the graph. Same result in PyTorch.

    Args:
        scale_factor (int): Integer upsampling factor.
        mode (str): Interpolation mode.
        align_corners (bool, optional): As mmseg's.
    """

    def __init__(self, scale_factor: int, mode: str, align_corners: Optional[bool]) -> None:
        super().__init__()
        self.scale_factor, self.mode, self.align_corners = scale_factor, mode, align_corners

    def forward(self, x: Tensor) -> Tensor:
        """Upsample by :attr:`scale_factor`, the output size computed from ``x``'s shape.

        Args:
            x (Tensor): (N, C, h, w) feature map.
        """
        size = (x.shape[-2] * self.scale_factor, x.shape[-1] * self.scale_factor)
        return F.interpolate(x, size=size, mode=self.mode, align_corners=self.align_corners)


def make_traceable(module: nn.Module) -> int:
    """Replace every mmseg ``Upsample`` with an integer factor by :class:`ShapeUpsample`
    in place; returns how many were replaced.

    Args:
        module (nn.Module): The model; its children are searched recursively.
    """
    from mmseg.models.utils import Upsample
    count = 0
    for name, child in list(module.named_children()):
        factor = getattr(child, 'scale_factor', None)
        if isinstance(child, Upsample) and not child.size and factor \
                and float(factor) == int(factor):
            setattr(module, name, ShapeUpsample(int(factor), child.mode, child.align_corners))
            count += 1
        else:
            count += make_traceable(child)
    return count


class LogitsNet(nn.Module):
    """A multi-label segmentor from its normalised, padded input to logits at that size:
    the segmentor's own ``test_size_logits`` (what its ``encode_decode`` runs).

    Args:
        segmentor (nn.Module): ``MultiLabelEncoderDecoder``,
            ``MultiLabelCascadeEncoderDecoder`` or ``SMPSegmentor``.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.segmentor = segmentor

    def forward(self, inputs: Tensor) -> Tensor:
        """(N, C, H, W) normalised, padded input -> (N, classes, H, W) logits.

        Args:
            inputs (Tensor): The network input, as :mod:`mmseg_ext.deploy.preprocess`
                makes it.
        """
        return self.segmentor.test_size_logits(inputs)


def load_segmentor(config: str, checkpoint: Optional[str],
                   cfg_options: Optional[dict] = None) -> Tuple[nn.Module, object]:
    """(model in eval mode on the CPU, its Config); ``checkpoint`` None keeps random weights.

    Args:
        config (str): Config file.
        checkpoint (str, optional): Checkpoint file; None keeps random weights.
        cfg_options (dict, optional): Config overrides.
    """
    from mmseg_ext.utils.runtime.launch import build_model
    model = build_model(config, checkpoint, 'cpu', cfg_options)
    return model.eval(), model.cfg


def _hand_side_options(step: dict) -> dict:
    """The arguments of the built ``HandSideNormalize`` step (its defaults filled in)."""
    from mmseg.registry import TRANSFORMS
    transform = TRANSFORMS.build(step)
    return dict(target_side=transform.target_side, use_filename=transform.use_filename,
                radius_left_means=transform.radius_left_means)


def _test_pipeline(cfg, config: str) -> dict:
    """Resize / LoadXRayImage / HandSideNormalize settings of the test pipeline."""
    steps = {'hand_side': None, 'num_channels': 3, 'resize': None}
    for step in cfg.test_dataloader.dataset.pipeline:
        kind = step['type']
        if kind == 'LoadXRayImage':
            steps['num_channels'] = step.get('num_channels', 3)
        elif kind == 'Resize':
            steps['resize'] = step
        elif kind == 'HandSideNormalize':
            steps['hand_side'] = dict(_hand_side_options(step),
                                      before_resize=steps['resize'] is None)
        elif kind not in _SKIPPED:
            raise DeployError(f'{config}: test pipeline step {kind!r} is not reproduced by '
                              'the exported pre-processing (LoadXRayImage, '
                              'HandSideNormalize, Resize, PackSegInputs are)')
    if steps['resize'] is None:
        raise DeployError(f'{config}: the test pipeline has no Resize; its scale is the '
                          'exported input size')
    return steps


def _mask_rule_fields(test_cfg: dict) -> dict:
    """The JSON's ``MaskRule.KEYS`` fields: the mask rule of ``test_cfg``, as JSON values."""
    rule = MaskRule.from_test_cfg(test_cfg)
    values = {key: getattr(rule, key) for key in MaskRule.KEYS}
    threshold = values['threshold']
    values['threshold'] = list(threshold) if isinstance(threshold, Sequence) \
        else float(threshold)
    return values


def spec_from_config(cfg, model: nn.Module, config: str) -> DeploySpec:
    """The JSON's content from the config and the built model.

    Args:
        cfg (Config): The model's config (its test pipeline is read).
        model (nn.Module): The built segmentor (its ``test_cfg``, data preprocessor,
            ``dataset_meta``, ``out_channels`` and ``align_corners`` are read).
        config (str): The config file, named in errors and in the JSON's ``source``.

    Raises:
        DeployError: A test pipeline step or ``test_cfg.mode`` the exported path
            does not reproduce; the message names the config.
    """
    test_cfg = dict(model.test_cfg or {})
    if test_cfg.get('mode', 'whole') != 'whole':
        raise DeployError(f"{config}: test_cfg.mode={test_cfg['mode']!r}; the exported path "
                          "runs the whole image (mode='whole')")
    steps = _test_pipeline(cfg, config)
    resize = steps['resize']
    scale = resize['scale']
    scale = [int(scale), int(scale)] if isinstance(scale, (int, float)) else list(scale)
    pre = model.data_preprocessor
    pad_cfg = dict(getattr(pre, 'test_cfg', None) or {})
    # The checkpoint's classes (mmseg's init_model puts Cityscapes' there when it has none).
    classes = list((getattr(model, 'dataset_meta', None) or {}).get('classes') or [])
    if len(classes) != model.out_channels:
        classes = list(HAND_BONE_CLASSES) if len(HAND_BONE_CLASSES) == model.out_channels \
            else [f'class_{i}' for i in range(model.out_channels)]
    mean = pre.mean.flatten().tolist() if pre._enable_normalize else [0.0] * 3
    std = pre.std.flatten().tolist() if pre._enable_normalize else [1.0] * 3
    if pre.channel_conversion:
        mean, std = mean[::-1], std[::-1]
    return DeploySpec(
        class_names=classes, scale=scale, keep_ratio=bool(resize.get('keep_ratio', False)),
        interpolation=resize.get('interpolation', 'bilinear'), mean=mean, std=std,
        bgr_to_rgb=bool(pre.channel_conversion), num_channels=int(steps['num_channels']),
        size_divisor=pad_cfg.get('size_divisor'), pad_size=pad_cfg.get('size'),
        pad_val=float(pre.pad_val), **_mask_rule_fields(test_cfg),
        align_corners=bool(model.align_corners), hand_side=steps['hand_side'],
        source=dict(config=osp.abspath(config)))


def sample_size(spec: DeploySpec) -> Tuple[int, int]:
    """(h, w) of the network input for a square image: the resize, then the padding.

    Args:
        spec (DeploySpec): Gives the resize and the padding.
    """
    from .preprocess import resized_shape
    side = max(spec.scale)
    return spec.padded_shape(*resized_shape(side, side, spec.scale, spec.keep_ratio))


def _export(net: nn.Module, example: Tensor, path: str, exporter: str, dynamic: bool,
            opset: int, config: str) -> None:
    """Export ``net`` traced at ``example`` to ``path``; batch, height and width dynamic
    with ``dynamic``.

    Raises:
        DeployError: The exporter failed; the message names ``config``.
    """
    kwargs = dict(input_names=['input'], output_names=['logits'], opset_version=opset)
    try:
        if exporter == 'dynamo':
            auto = torch.export.Dim.AUTO
            shapes = {'inputs': {0: auto, 2: auto, 3: auto}} if dynamic else None
            program = torch.onnx.export(net, (example, ), None, dynamo=True,
                                        dynamic_shapes=shapes, verbose=False, **kwargs)
            program.save(path)
        else:
            axes = {'input': {0: 'batch', 2: 'height', 3: 'width'},
                    'logits': {0: 'batch', 2: 'height', 3: 'width'}} if dynamic else None
            torch.onnx.export(net, (example, ), path, dynamo=False, dynamic_axes=axes,
                              **kwargs)
    except Exception as err:  # noqa: BLE001  (exporters raise many types)
        raise DeployError(f'{config}: the {exporter} exporter failed ({err})') from err


def graph_input_shape(path: str) -> list:
    """The graph input's shape: an int per fixed axis, the symbol's name per dynamic one.

    Args:
        path (str): The ONNX file.
    """
    import onnx
    graph = onnx.load(path, load_external_data=False).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField('dim_value') else (d.dim_param or '?') for d in dims]


def max_logit_diff(net: nn.Module, path: str, inputs: Tensor) -> float:
    """Largest |ONNX Runtime - PyTorch| logit of ``inputs`` (CPU, float32).

    Args:
        net (nn.Module): The exported network (:class:`LogitsNet`), on the CPU.
        path (str): Its ONNX graph.
        inputs (Tensor): (N, C, H, W) float32 input.

    Raises:
        DeployError: ONNX Runtime cannot load or run the graph, or its logits have
            another shape than PyTorch's.
    """
    from .runtime import OrtSession
    with torch.no_grad():
        expected = net(inputs).numpy()
    got = OrtSession(path)(inputs.numpy())
    if got.shape != expected.shape:
        raise DeployError(f'{path}: logits of shape {got.shape}, PyTorch gives '
                          f'{expected.shape}')
    return float(np.abs(got - expected).max())


def _other_size(height: int, width: int, div: int) -> Tuple[int, int]:
    """A second input size to check dynamic axes with (still a multiple of ``div``)."""
    step = max(div, 32)
    return height + step, max(width - step, step)


def dynamic_axes_of(shape: list) -> List[str]:
    """Names (:data:`AXES`) of the axes of a :func:`graph_input_shape` that may vary.

    Args:
        shape (list): The graph input's shape: an int per fixed axis.
    """
    return [AXES[i] for i, d in enumerate(shape) if not isinstance(d, int)]


def _baked_size_note(net: nn.Module, path: str, diff: float,
                     other: Tensor) -> Tuple[float, str]:
    """(largest logit difference, note) of the graph at ``other``'s input size; the note,
    empty when the graph is right there, says why the export needs a fixed size."""
    other_diff = max_logit_diff(net, path, other)
    if other_diff <= max(1e-3, 100 * diff):
        return max(diff, other_diff), ''
    size = tuple(other.shape[2:])
    return other_diff, (f'logits at input size {size} differ from PyTorch by '
                        f'{other_diff:.3g}: exported with a fixed input size instead')


def _checked_graph(export: Callable[[bool], None], net: nn.Module, path: str,
                   examples: Tuple[Tensor, Tensor], dynamic: bool,
                   log: Callable[[str], None]) -> Tuple[list, float, str]:
    """Export to ``path``, check the graph and its logits, and export again with a fixed
    input size when the dynamic graph is wrong at another size.

    Args:
        export (Callable): Exports to ``path``, dynamic or not (:func:`_export`).
        net (nn.Module): The exported network (PyTorch's logits).
        path (str): The graph.
        examples (tuple[Tensor]): The example input, and one at another size.
        dynamic (bool): Try dynamic batch, height and width.
        log (Callable): Called with a line as each step starts.

    Returns:
        tuple: The graph's input shape, the largest logit difference, and the
        note of :func:`_baked_size_note`.
    """
    import onnx
    example, other = examples
    export(dynamic)
    log('checking the graph and comparing its logits with PyTorch (ONNX Runtime)')
    onnx.checker.check_model(path)
    shape = graph_input_shape(path)
    diff = max_logit_diff(net, path, example)
    if not {'height', 'width'} & set(dynamic_axes_of(shape)):
        return shape, diff, ''
    diff, note = _baked_size_note(net, path, diff, other)
    if note:
        log(note)
        export(False)
        shape, diff = graph_input_shape(path), max_logit_diff(net, path, example)
    return shape, diff, note


@contextmanager
def _temporary_beside(out: str) -> Iterator[str]:
    """A temporary ``.onnx`` file in ``out``'s folder (made when missing), removed at exit."""
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=osp.basename(out) + '.', suffix='.tmp.onnx')
    os.close(fd)
    try:
        yield tmp
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def _network_and_spec(config: str, checkpoint: Optional[str],
                      cfg_options: Optional[dict]) -> Tuple[nn.Module, DeploySpec]:
    """The traceable :class:`LogitsNet` of the built model, and the JSON's content."""
    model, cfg = load_segmentor(config, checkpoint, cfg_options)
    spec = spec_from_config(cfg, model, config)
    spec.source['checkpoint'] = osp.abspath(checkpoint) if checkpoint else None
    make_traceable(model)
    return LogitsNet(model).eval(), spec


def _random_inputs(spec: DeploySpec, size: Tuple[int, int],
                   seed: int) -> Tuple[Tensor, Tensor]:
    """Random (1, C, h, w) inputs at ``size`` and at :func:`_other_size`."""
    generator = torch.Generator().manual_seed(seed)
    example = torch.randn((1, spec.num_channels) + size, generator=generator)
    other = _other_size(*size, spec.size_divisor or 32)
    return example, torch.randn((1, spec.num_channels) + other, generator=generator)


def export_onnx(config: str, checkpoint: Optional[str], out: str, exporter: str = 'dynamo',
                dynamic: bool = True, opset: int = 18, input_size: Optional[Sequence] = None,
                seed: int = 0, cfg_options: Optional[dict] = None,
                log: Callable[[str], None] = lambda message: None) -> ExportResult:
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and its JSON beside it.

    Args:
        config (str): Config file.
        checkpoint (str, optional): Checkpoint; None exports random weights
            (benchmarks).
        out (str): ``.onnx`` path (written atomically, as is the JSON).
        exporter (str): 'dynamo' (default) or 'torchscript'.
        dynamic (bool): Dynamic batch, height and width. Defaults to True.
        opset (int): ONNX opset. Defaults to 18.
        input_size (Sequence[int], optional): (h, w) of the example input;
            default the test pipeline's resize of a square image, padded.
        seed (int): Seed of the random check input.
        cfg_options (dict, optional): Config overrides.
        log (Callable): Called with a line as each step starts (the tool prints them).

    Returns:
        ExportResult: Paths, exported shape, dynamic axes and the check's difference.

    Raises:
        DeployError: An unsupported test pipeline or ``test_cfg``, or an export
            that fails (e.g. an op the exporter cannot convert); names the config.
    """
    if exporter not in EXPORTERS:
        raise DeployError(f'{config}: unknown exporter {exporter!r} (one of {EXPORTERS})')
    log(f'building the model of {config}')
    net, spec = _network_and_spec(config, checkpoint, cfg_options)
    size = tuple(input_size) if input_size else sample_size(spec)
    examples = _random_inputs(spec, size, seed)
    with _temporary_beside(out) as tmp:
        log(f'exporting with the {exporter} exporter at input {size[0]}x{size[1]} '
            '(minutes for a large model)')
        export = partial(_export, net, examples[0], tmp, exporter, opset=opset, config=config)
        shape, diff, note = _checked_graph(export, net, tmp, examples, dynamic, log)
        with open(tmp, 'rb') as f:
            atomic_write_bytes(f.read(), out)
    spec.input_shape, spec.dynamic_axes = shape, dynamic_axes_of(shape)
    spec.exporter = f'torch {torch.__version__} {exporter}, opset {opset}'
    write_spec(spec, spec_path(out))
    return ExportResult(out, spec_path(out), shape, spec.dynamic_axes, diff, exporter, note)
