"""The JSON beside an exported model: what inference needs besides the graph.

Written by :mod:`mmseg_ext.deploy.export` as ``<model stem>.json`` (``model.onnx``
-> ``model.json``; an OpenVINO ``model.xml`` finds the same file), read by
:mod:`mmseg_ext.deploy.onnx_member`, so inference needs no config file.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass, field, fields
from typing import List, Optional, Sequence, Tuple, Union

import cv2

from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule

SPEC_VERSION = 1
# Test-pipeline steps that load annotations: skipped at inference (export and ensembles).
ANNOTATION_LOADERS = ('LoadHandBoneAnnotations', 'LoadAnnotations')
# cv2 interpolation of mmcv's Resize, by its name.
INTERPOLATIONS = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR,
                  'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA,
                  'lanczos': cv2.INTER_LANCZOS4}


class DeployError(RuntimeError):
    """An exported model or its JSON that cannot be used; the message names the file."""


@dataclass
class DeploySpec:
    """Pre- and post-processing of an exported model.

    Args:
        class_names (list[str]): One per output channel, in order.
        scale (list[int]): The test pipeline's ``Resize`` scale (mmcv order: (w, h)
            for ``keep_ratio=False``; the longest/shortest edge bounds otherwise).
        keep_ratio (bool): ``Resize(keep_ratio=...)``.
        interpolation (str): ``Resize`` interpolation (one of :data:`INTERPOLATIONS`).
        mean (list[float]): Data preprocessor mean, per input channel.
        std (list[float]): Data preprocessor std, per input channel.
        bgr_to_rgb (bool): The data preprocessor reverses 3 channels first.
        num_channels (int): Input channels (``LoadXRayImage(num_channels)``).
        size_divisor (int, optional): Test-time padding of height and width to a
            multiple (bottom/right, after normalisation, with ``pad_val``).
        pad_size (list[int], optional): Test-time padding to this (h, w).
        pad_val (float): Value of padded pixels.
        threshold (float | list[float]): ``test_cfg.threshold``.
        cleanup (dict | list[dict], optional): ``test_cfg.cleanup``.
        crf (bool): ``test_cfg.crf``.
        align_corners (bool): How logits are resized to the original size.
        hand_side (dict, optional): ``HandSideNormalize``'s arguments when the test
            pipeline has it, plus ``before_resize`` (where it runs).
        input_name (str): The graph's input.
        output_name (str): The graph's output (logits at the input size).
        dynamic_axes (list[str]): Input axes that may vary: any of
            'batch', 'height', 'width'.
        input_shape (list): The exported input shape; a fixed axis is an int.
        exporter (str): How the graph was made.
        source (dict): The config and checkpoint exported.
        version (int): Version of this JSON's layout; :func:`read_spec` reads only
            :data:`SPEC_VERSION`.
    """
    class_names: List[str]
    scale: List[int]
    mean: List[float]
    std: List[float]
    keep_ratio: bool = True
    interpolation: str = 'bilinear'
    bgr_to_rgb: bool = False
    num_channels: int = 3
    size_divisor: Optional[int] = None
    pad_size: Optional[List[int]] = None
    pad_val: float = 0.0
    threshold: Union[float, List[float]] = 0.5
    cleanup: Union[dict, List[dict], None] = None
    crf: bool = False
    align_corners: bool = False
    hand_side: Optional[dict] = None
    input_name: str = 'input'
    output_name: str = 'logits'
    dynamic_axes: List[str] = field(default_factory=list)
    input_shape: list = field(default_factory=list)
    exporter: str = ''
    source: dict = field(default_factory=dict)
    version: int = SPEC_VERSION

    @property
    def test_cfg(self) -> dict:
        """The ``test_cfg`` keys
        :class:`~mmseg_ext.utils.postprocessing.mask_rule.MaskRule` reads (its ``KEYS``)."""
        return {key: getattr(self, key) for key in MaskRule.KEYS}

    def padded_shape(self, height: int, width: int) -> Tuple[int, int]:
        """(h, w) of an (h, w) image after the test-time padding, as mmseg's
        ``stack_batch`` pads: up to ``pad_size`` when set, else up to a multiple of
        ``size_divisor``.

        Args:
            height (int): Height of the resized image.
            width (int): Width of the resized image.
        """
        if self.pad_size:
            return max(self.pad_size[0], height), max(self.pad_size[1], width)
        div = self.size_divisor or 1
        return -(-height // div) * div, -(-width // div) * div


def spec_path(model_path: str) -> str:
    """``model.onnx`` / ``model.xml`` -> ``model.json`` beside it.

    Args:
        model_path (str): The exported model (``.onnx`` or OpenVINO ``.xml``).
    """
    return osp.splitext(model_path)[0] + '.json'


def write_spec(spec: DeploySpec, path: str) -> None:
    """Write ``spec`` as JSON, atomically.

    Args:
        spec (DeploySpec): The exported model's pre- and post-processing.
        path (str): The JSON file (:func:`spec_path` of the model).
    """
    with atomic_open(path, 'w') as f:
        json.dump(asdict(spec), f, indent=2)


def _check(spec: DeploySpec, path: str) -> None:
    if spec.version != SPEC_VERSION:
        raise DeployError(f'{path}: spec version {spec.version}, this code reads '
                          f'{SPEC_VERSION}; export the model again')
    if len(spec.mean) != spec.num_channels or len(spec.std) != spec.num_channels:
        raise DeployError(f'{path}: mean/std need {spec.num_channels} values')
    if spec.interpolation not in INTERPOLATIONS:
        raise DeployError(f'{path}: interpolation {spec.interpolation!r} not one of '
                          f'{tuple(INTERPOLATIONS)}')
    if len(spec.scale) != 2:
        raise DeployError(f'{path}: scale must be 2 numbers, got {spec.scale}')
    if isinstance(spec.threshold, Sequence) and len(spec.threshold) != len(spec.class_names):
        raise DeployError(f'{path}: {len(spec.threshold)} thresholds for '
                          f'{len(spec.class_names)} classes')


def read_spec(path: str) -> DeploySpec:
    """Read and check the JSON of an exported model.

    Args:
        path (str): The JSON file (:func:`spec_path` of the model).

    Raises:
        DeployError: A missing or unreadable file, unknown or missing keys, or
            inconsistent values; the message names the file.
    """
    try:
        with open(path) as f:
            content = json.load(f)
    except FileNotFoundError as err:
        raise DeployError(f'{path}: not found; an exported model needs the JSON that '
                          'tools/deployment/export_onnx.py writes beside it') from err
    except (OSError, json.JSONDecodeError) as err:
        raise DeployError(f'{path}: cannot read the deploy JSON ({err})') from err
    known = {f.name for f in fields(DeploySpec)}
    unknown = sorted(set(content) - known) if isinstance(content, dict) else None
    if unknown is None or unknown:
        raise DeployError(f'{path}: not a deploy JSON (unknown keys {unknown})')
    try:
        spec = DeploySpec(**content)
    except TypeError as err:
        raise DeployError(f'{path}: missing keys ({err})') from err
    _check(spec, path)
    return spec
