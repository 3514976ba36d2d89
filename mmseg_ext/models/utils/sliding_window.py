"""Sliding-window inference blended with a Gaussian importance map (nnU-Net style)."""
from typing import Callable, List, Optional, Sequence

import torch
from torch import Tensor


def gaussian_window(height: int, width: int, sigma_scale: float = 0.125,
                    device: Optional[torch.device] = None) -> Tensor:
    """(height, width) Gaussian importance map, 1 at the centre (nnU-Net's
    sigma = ``sigma_scale`` x side), floored at 1e-6 so pixels that only a
    window's corner covers (image corners) keep a usable weight."""
    ys = torch.arange(height, device=device, dtype=torch.float32) - (height - 1) / 2
    xs = torch.arange(width, device=device, dtype=torch.float32) - (width - 1) / 2
    gy = torch.exp(-0.5 * (ys / (sigma_scale * height)) ** 2)
    gx = torch.exp(-0.5 * (xs / (sigma_scale * width)) ** 2)
    window = gy[:, None] * gx[None, :]
    return window.clamp_min(1e-6)


def window_positions(size: Sequence[int], crop: Sequence[int],
                     stride: Sequence[int]) -> List[tuple]:
    """(y1, y2, x1, x2) of the sliding windows covering an image of ``size``
    (mmseg's grid: the last window of a row or column ends at the border)."""
    (h_img, w_img), (h_crop, w_crop), (h_stride, w_stride) = size, crop, stride
    h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
    positions = []
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, h_img)
            x2 = min(w_idx * w_stride + w_crop, w_img)
            positions.append((max(y2 - h_crop, 0), y2, max(x2 - w_crop, 0), x2))
    return positions


def gaussian_slide(encode_decode: Callable[[Tensor, List[dict]], Tensor], inputs: Tensor,
                   meta: dict, num_classes: int, crop: Sequence[int], stride: Sequence[int],
                   window_batch: int = 1) -> Tensor:
    """(N, C, H, W) logits of ``inputs`` from Gaussian-weighted sliding windows.

    Args:
        encode_decode (Callable): The segmentor's ``encode_decode(crops, metas)``.
        inputs (Tensor): (N, 3, H, W) preprocessed images.
        meta (dict): The first image's metainfo (``img_shape`` is set per window).
        num_classes (int): Output channels.
        crop (Sequence[int]): (h, w) window size.
        stride (Sequence[int]): (h, w) step.
        window_batch (int): Windows per forward pass; memory is the output
            plus this many windows (logits are added in place, never padded
            to the full image).
    """
    positions = window_positions(inputs.shape[2:], crop, stride)
    num = inputs.shape[0]
    preds = inputs.new_zeros((num, num_classes) + tuple(inputs.shape[2:]))
    weights = inputs.new_zeros((1, 1) + tuple(inputs.shape[2:]))
    step = max(int(window_batch), 1)
    for start in range(0, len(positions), step):
        group = positions[start:start + step]
        crops = torch.cat([inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
        logits = encode_decode(crops, [dict(meta, img_shape=crops.shape[2:])] * crops.shape[0])
        window = gaussian_window(*crops.shape[2:], device=inputs.device)
        for k, (y1, y2, x1, x2) in enumerate(group):
            preds[:, :, y1:y2, x1:x2] += logits[k * num:(k + 1) * num] * window
            weights[:, :, y1:y2, x1:x2] += window
    return preds / weights
