"""An X-ray -> the exported network's input, as the PyTorch test pipeline makes it.

Mirrors ``LoadXRayImage`` -> [``HandSideNormalize``] -> mmcv ``Resize`` ->
``SegDataPreProcessor`` (channel order, ``(x - mean) / std``, test-time
padding to ``size_divisor`` at the bottom/right) with numpy and cv2 only.
"""
from dataclasses import dataclass
from typing import Sequence, Tuple

import cv2
import numpy as np

from mmseg_ext.utils.hand_side import side_and_flip

from .spec import INTERPOLATIONS, DeploySpec


@dataclass
class Prepared:
    """One image ready for the network.

    Args:
        inputs (np.ndarray): (1, C, H, W) float32, normalised and padded.
        resized (tuple): (h, w) of the image before padding.
        ori_shape (tuple): (H, W) of the original image.
        hand_flip (bool): The image was flipped to the target hand side.
    """
    inputs: np.ndarray
    resized: Tuple[int, int]
    ori_shape: Tuple[int, int]
    hand_flip: bool


def resized_shape(height: int, width: int, scale: Sequence[int],
                  keep_ratio: bool) -> Tuple[int, int]:
    """(h, w) after mmcv's ``Resize``: with ``keep_ratio`` the largest size whose
    long edge fits ``max(scale)`` and short edge ``min(scale)`` (``mmcv.rescale_size``,
    rounded half up); else ``scale`` read as (w, h).

    Args:
        height (int): Height of the image before resizing.
        width (int): Width of the image before resizing.
        scale (Sequence[int]): The ``Resize`` scale (:attr:`DeploySpec.scale`).
        keep_ratio (bool): ``Resize(keep_ratio=...)``.
    """
    if not keep_ratio:
        return int(scale[1]), int(scale[0])
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    return int(height * float(factor) + 0.5), int(width * float(factor) + 0.5)


def hand_flip_needed(img: np.ndarray, img_path: str, hand_side: dict) -> bool:
    """Whether the exported ``HandSideNormalize`` (``hand_side``: its arguments and
    ``before_resize``) flips this image.

    Args:
        img (np.ndarray): The (h, w) grey image: the original, or the resized one when
            ``before_resize`` is False.
        img_path (str): Its file; a ``_L``/``_R`` suffix may decide the side.
        hand_side (dict): :attr:`DeploySpec.hand_side`.
    """
    options = {key: value for key, value in hand_side.items() if key != 'before_resize'}
    return side_and_flip(img, img_path, **options)[1]


def normalise(img: np.ndarray, spec: DeploySpec) -> np.ndarray:
    """(h, w) uint8 grey -> (C, h, w) float32 ``(x - mean) / std`` per channel.

    Args:
        img (np.ndarray): The (h, w) uint8 grey image, resized.
        spec (DeploySpec): Gives ``num_channels``, ``mean`` and ``std``.
    """
    planes = np.repeat(img[None], spec.num_channels, axis=0).astype(np.float32)
    mean = np.asarray(spec.mean, np.float32).reshape(-1, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(-1, 1, 1)
    # SegDataPreProcessor reverses 3 channels before normalising; grey planes are equal,
    # so only the order of mean/std matters.
    return (planes - mean) / std


def pad(planes: np.ndarray, spec: DeploySpec) -> np.ndarray:
    """Pad (C, h, w) at the bottom/right to :meth:`DeploySpec.padded_shape`.

    Args:
        planes (np.ndarray): (C, h, w) normalised image (:func:`normalise`).
        spec (DeploySpec): Gives the padding (``pad_size`` or ``size_divisor``) and
            ``pad_val``.

    Returns:
        np.ndarray: ``planes`` itself when no padding is needed, else a padded copy.
    """
    height, width = planes.shape[1:]
    target_h, target_w = spec.padded_shape(height, width)
    if (target_h, target_w) == (height, width):
        return planes
    return np.pad(planes, ((0, 0), (0, target_h - height), (0, target_w - width)),
                  constant_values=spec.pad_val)


def prepare(img: np.ndarray, img_path: str, spec: DeploySpec) -> Prepared:
    """(H, W) uint8 grey X-ray -> :class:`Prepared` network input.

    Args:
        img (np.ndarray): The image as :func:`mmseg_ext.utils.fileio.xray_io.read_xray`
            reads it.
        img_path (str): Its file (the hand side may come from its name).
        spec (DeploySpec): The exported model's JSON.
    """
    ori_shape = img.shape[:2]
    hand_flip = False
    if spec.hand_side and spec.hand_side.get('before_resize', True):
        hand_flip = hand_flip_needed(img, img_path, spec.hand_side)
    height, width = resized_shape(*ori_shape, spec.scale, spec.keep_ratio)
    if (height, width) != tuple(ori_shape):
        img = cv2.resize(img, (width, height), interpolation=INTERPOLATIONS[spec.interpolation])
    if spec.hand_side and not spec.hand_side.get('before_resize', True):
        hand_flip = hand_flip_needed(img, img_path, spec.hand_side)
    if hand_flip:
        img = np.ascontiguousarray(img[:, ::-1])
    planes = pad(normalise(img, spec), spec)
    return Prepared(np.ascontiguousarray(planes[None]), (height, width), ori_shape, hand_flip)
