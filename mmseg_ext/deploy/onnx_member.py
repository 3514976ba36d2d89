"""An exported model as an ensemble member (``tools/predict.py --model model.onnx``).

Implements the member interface of :func:`mmseg_ext.apis.ensemble.ensemble_masks`:
``weight``, ``mask_rule``, ``views(img_path)`` and ``add_probs(img_path, total, weight)``
(:func:`~mmseg_ext.apis.ensemble.ensemble_probs`). Needs no
config file and no mmcv/mmengine/mmseg: the JSON beside the model says how to
prepare the image and turn probabilities into masks.
"""
import os.path as osp
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.postprocessing.box_merge import ViewStack
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms

from .preprocess import Prepared, prepare
from .runtime import make_session
from .spec import DeployError, read_spec, spec_path


class ExportedMember:
    """One exported model run by ONNX Runtime or OpenVINO.

    Args:
        model_path (str): ``model.onnx`` (or an OpenVINO ``model.xml``) with its
            ``model.json`` beside it.
        weight (float): Weight in the probability average. Defaults to 1.
        backend (str): 'onnxruntime' or 'openvino'.
        tta (bool): Also predict the horizontally flipped image and average the
            two views' probabilities. Defaults to False.
        threads (int): Backend threads (0: the backend's default).
        precision (str, optional): OpenVINO's ``INFERENCE_PRECISION_HINT``; None
            keeps the device default. Defaults to 'f32'.

    Raises:
        DeployError: A missing model or JSON, a backend that is not installed or
            cannot load the model; the message names the file.
    """

    def __init__(self, model_path: str, weight: float = 1.0, backend: str = 'onnxruntime',
                 tta: bool = False, threads: int = 0,
                 precision: Optional[str] = 'f32') -> None:
        if not osp.isfile(model_path):
            raise DeployError(f'{model_path}: exported model not found')
        self.model_path = model_path
        self.spec = read_spec(spec_path(model_path))
        self.session = make_session(model_path, backend, threads, precision)
        self.weight = float(weight)
        self.tta = tta

    @property
    def mask_rule(self) -> MaskRule:
        """Thresholds, cleanup and CRF of the exported config's ``test_cfg``."""
        return MaskRule.from_test_cfg(self.spec.test_cfg)

    def _logits(self, prepared: Prepared) -> list:
        """[(C, Hp, Wp) logits, flipped] per view (the image, and its mirror with ``tta``)."""
        inputs = prepared.inputs
        if not self.tta:
            return [(self.session(inputs)[0], False)]
        # Flip the unpadded image, then pad, as RandomFlip before the preprocessor does.
        height, width = prepared.resized
        mirror = inputs.copy()
        mirror[..., :height, :width] = inputs[..., :height, :width][..., ::-1]
        if self.session.dynamic_batch:
            out = self.session(np.concatenate([inputs, mirror]))
            return [(out[0], False), (out[1], True)]
        return [(self.session(inputs)[0], False), (self.session(mirror)[0], True)]

    @staticmethod
    def _undo(logits: np.ndarray, prepared: Prepared, flip: bool) -> Tensor:
        """(C, Hp, Wp) logits of one view -> (C, h, w) of the image: the bottom/right
        padding removed, the view's flip and the hand-side flip undone."""
        height, width = logits.shape[-2:]
        meta = dict(img_padding_size=[0, width - prepared.resized[1], 0,
                                      height - prepared.resized[0]],
                    flip=flip, hand_flip=prepared.hand_flip)
        return undo_test_transforms(torch.from_numpy(logits)[None].float(), meta)[0]

    @torch.no_grad()
    def views(self, img_path: str, **fields) -> ViewStack:
        """The image's views (the image, and its mirror with ``tta``) as test-size
        logits with the padding, the flip and the hand-side flip undone.

        Args:
            img_path (str): The X-ray file.
            **fields: Further pipeline inputs of the PyTorch members (e.g. a crop
                box); an exported model takes only ``xray``, the image's pixels
                already read (:func:`~mmseg_ext.utils.fileio.xray_io.read_xray`).

        Raises:
            DeployError: ``fields`` given (the exported pre-processing has no such step),
                or an output with another number of classes than the JSON names.
        """
        xray = fields.pop('xray', None)
        if fields:
            raise DeployError(f'{self.model_path}: an exported model takes only the image, '
                              f'not {sorted(fields)}')
        prepared = prepare(read_xray(img_path) if xray is None else xray, img_path, self.spec)
        views = self._logits(prepared)
        if views[0][0].shape[0] != len(self.spec.class_names):
            raise DeployError(f'{self.model_path}: {views[0][0].shape[0]} output channels, '
                              f'its JSON names {len(self.spec.class_names)} classes')
        stack = ViewStack(prepared.ori_shape, 'prob', self.spec.align_corners)
        for logits, flip in views:
            stack.add(self._undo(logits, prepared, flip))
        return stack

    def add_probs(self, img_path: str, total: Optional[Tensor] = None,
                  weight: Union[float, Tensor, None] = None, **fields) -> Tensor:
        """Add ``weight`` x this model's (C, H, W) probabilities for one image into
        ``total``: the full-plane path (:meth:`ViewStack.add_dense`; each view with
        ``weight / views``).

        Args:
            img_path (str): The X-ray file.
            total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
            weight (float | Tensor, optional): Scalar or (C, 1, 1) per-class weight;
                default the member's ``weight``.
            **fields: As for :meth:`views` (none allowed).

        Returns:
            Tensor: ``total`` with this model's weighted probabilities added.
        """
        weight = self.weight if weight is None else weight
        return self.views(img_path, **fields).add_dense(total, weight)
