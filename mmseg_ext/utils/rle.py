"""Run-length encoding in the competition's format.

A mask is flattened row-major; runs of foreground are written as 1-based
``start length`` pairs separated by single spaces; an empty mask is ''.
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

Mask = Union[np.ndarray, torch.Tensor]


def _runs_to_string(starts: np.ndarray, lengths: np.ndarray) -> str:
    pairs = np.empty(starts.size * 2, dtype=np.int64)
    pairs[0::2] = starts
    pairs[1::2] = lengths
    return ' '.join(map(str, pairs.tolist()))


def _row_span(mask: np.ndarray) -> Tuple[int, int]:
    """First and one-past-last row holding foreground, (0, 0) if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    return (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, 0)


def _encode_numpy(mask: np.ndarray) -> str:
    """Runs of one (H, W) numpy mask; only the rows between the first and
    last foreground row are scanned (a bone covers few rows of the image)."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    if mask.ndim == 1:
        mask = mask[None]
    top, bottom = _row_span(mask)
    if top == bottom:
        return ''
    flat = mask[top:bottom].reshape(-1).view(np.uint8)
    edges = np.flatnonzero(np.diff(flat, prepend=np.uint8(0), append=np.uint8(0)))
    offset = top * mask.shape[1]
    return _runs_to_string(edges[0::2] + offset + 1, edges[1::2] - edges[0::2])


def rle_encode(mask: Mask) -> str:
    """Encode one (H, W) bool mask (numpy array or torch tensor)."""
    if isinstance(mask, torch.Tensor):
        return rle_encode_batch(mask[None])[0]
    return _encode_numpy(np.asarray(mask))


def _encode_torch(masks: torch.Tensor) -> List[str]:
    """Find run boundaries on the tensor's device; move only the indices."""
    flat = masks.reshape(masks.shape[0], -1).to(torch.int8)
    padded = torch.nn.functional.pad(flat, (1, 1))
    change = padded[:, 1:] != padded[:, :-1]
    cls, pos = torch.nonzero(change, as_tuple=True)
    cls, pos = cls.cpu().numpy(), pos.cpu().numpy()
    bounds = np.searchsorted(cls, np.arange(masks.shape[0] + 1))
    out = []
    for c in range(masks.shape[0]):
        edges = pos[bounds[c]:bounds[c + 1]]
        out.append(_runs_to_string(edges[0::2] + 1, edges[1::2] - edges[0::2]) if edges.size else '')
    return out


def rle_encode_batch(masks: Mask) -> List[str]:
    """Encode (C, H, W) bool masks to C strings; CUDA tensors stay on the GPU."""
    if isinstance(masks, torch.Tensor):
        if masks.is_cuda:
            return _encode_torch(masks)
        masks = masks.numpy()
    return [_encode_numpy(m) for m in masks]


def rle_decode(rle: str, shape: Sequence[int]) -> np.ndarray:
    """Decode an RLE string to an (H, W) bool mask.

    Raises:
        ValueError: Malformed pairs, non-increasing or overlapping runs, or
            runs outside the image.
    """
    height, width = shape
    mask = np.zeros(height * width, dtype=bool)
    if not rle.strip():
        return mask.reshape(height, width)
    try:
        values = np.array(rle.split(' '), dtype=np.int64)
    except ValueError as err:
        raise ValueError(f'RLE has a non-integer token ({err})') from err
    if values.size % 2:
        raise ValueError('RLE needs start/length pairs, got an odd number of values')
    starts, lengths = values[0::2] - 1, values[1::2]
    if (starts < 0).any() or (lengths <= 0).any():
        raise ValueError('RLE starts must be >= 1 and lengths >= 1')
    ends = starts + lengths
    if (starts[1:] < ends[:-1]).any():
        raise ValueError('RLE runs must be increasing and must not overlap')
    if ends[-1] > height * width:
        raise ValueError(f'RLE run ends at pixel {ends[-1]}, beyond the {height}x{width} image')
    for start, end in zip(starts.tolist(), ends.tolist()):
        mask[start:end] = True
    return mask.reshape(height, width)
