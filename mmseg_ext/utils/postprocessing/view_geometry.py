"""Where the test pipeline moved the pixels, and how to move logits back (torch only: the
PyTorch segmentors and the exported models of :mod:`mmseg_ext.deploy` share it)."""
from typing import List

import torch
from torch import Tensor

from ..masks.geometry import rotation_matrix


def padding_of(meta: dict) -> List[int]:
    """(left, right, top, bottom) padding that the data preprocessor added.

    Args:
        meta (dict): A sample's metainfo: its ``img_padding_size`` (or ``padding_size``);
            no padding when it has neither.
    """
    return list(meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0])))


def unrotate(logits: Tensor, angle: float) -> Tensor:
    """Undo ``RotateView(angle)`` on (1, C, H, W) logits (bilinear, border values).

    Args:
        logits (Tensor): (1, C, H, W) logits of the rotated view, padding removed.
        angle (float): The view's rotation in degrees, counter-clockwise.
    """
    height, width = logits.shape[-2:]
    forward = torch.eye(3, dtype=torch.float64)
    forward[:2] = torch.from_numpy(rotation_matrix(height, width, angle))
    # pixel -> normalised coordinates (align_corners=False)
    to_norm = torch.tensor([[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1],
                            [0, 0, 1]], dtype=torch.float64)
    theta = (to_norm @ forward @ torch.linalg.inv(to_norm))[:2].float()
    grid = torch.nn.functional.affine_grid(theta[None].to(logits.device), list(logits.shape),
                                           align_corners=False)
    return torch.nn.functional.grid_sample(logits, grid, mode='bilinear',
                                           padding_mode='border', align_corners=False)


def undo_test_transforms(logits: Tensor, meta: dict) -> Tensor:
    """Undo on (1, C, H, W) logits what the test pipeline did to the image: the
    preprocessor's padding, a ``RotateView`` rotation, ``RandomFlip``'s flip and
    ``HandSideNormalize``'s.

    Args:
        logits (Tensor): (1, C, H, W) logits at the network's (padded) input size.
        meta (dict): The sample's metainfo: ``img_padding_size`` (or ``padding_size``),
            ``rotate_angle``, ``flip`` with ``flip_direction``, and ``hand_flip``, where
            the pipeline set them.

    Returns:
        Tensor: (1, C, h, w) logits aligned with the resized image before its rotation
        and flips, padding removed.
    """
    height, width = logits.shape[-2:]
    left, right, top, bottom = padding_of(meta)
    logits = logits[..., top:height - bottom, left:width - right]
    if meta.get('rotate_angle'):
        logits = unrotate(logits, meta['rotate_angle'])
    if meta.get('flip', False):
        direction = meta.get('flip_direction', 'horizontal')
        logits = logits.flip(dims=(3, ) if direction == 'horizontal' else (2, ))
    if meta.get('hand_flip', False):
        logits = logits.flip(dims=(3, ))
    return logits
