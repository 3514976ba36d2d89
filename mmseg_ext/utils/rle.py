"""Run-length encoding in the competition's format.

A mask is flattened row-major; runs of foreground are written as 1-based
``start length`` pairs separated by single spaces; an empty mask is ''.
"""
from typing import List, Sequence, Union

import numpy as np
import torch

Mask = Union[np.ndarray, torch.Tensor]


def _runs_to_string(starts: np.ndarray, lengths: np.ndarray) -> str:
    pairs = np.empty(starts.size * 2, dtype=np.int64)
    pairs[0::2] = starts
    pairs[1::2] = lengths
    return ' '.join(map(str, pairs.tolist()))


def _rows_with_foreground(masks: np.ndarray) -> np.ndarray:
    """(C, H) bool: which rows of each (C, H, W) mask hold foreground.

    Reads the rows as uint64 words when the width allows: one fast pass over
    the masks is most of the encoding cost.
    """
    num, height, width = masks.shape
    if width % 8 == 0 and masks.flags.c_contiguous:
        words = masks.view(np.uint8).view(np.uint64)
        return np.bitwise_or.reduce(words, axis=2) != 0
    return masks.any(axis=2)


def _encode_box(mask: np.ndarray, rows: np.ndarray) -> str:
    """Runs of one (H, W) mask, scanning only its bounding box.

    Within the box each row is padded with zeros, so runs are found per row;
    runs that continue from the end of one image row into the next (possible
    only when the box spans the full width) are merged, as row-major
    flattening requires.
    """
    width = mask.shape[1]
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    block = mask[top:bottom]
    cols = np.flatnonzero(block.any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    if 0 < left and right < width:
        box = block[:, left - 1:right + 1]  # the columns beside the box are background
    else:
        box = np.zeros((bottom - top, right - left + 2), bool)
        box[:, 1:-1] = block[:, left:right]
    row, col = np.nonzero(box[:, 1:] != box[:, :-1])
    flat = (row + top) * width + col + left
    starts, ends = flat[0::2], flat[1::2]
    keep = starts[1:] != ends[:-1]
    starts = starts[np.concatenate(([True], keep))]
    ends = ends[np.concatenate((keep, [True]))]
    return _runs_to_string(starts + 1, ends - starts)


def _encode_numpy(masks: np.ndarray) -> List[str]:
    """Encode (C, H, W) numpy masks."""
    masks = np.ascontiguousarray(masks, dtype=bool)
    row_any = _rows_with_foreground(masks)
    out = []
    for mask, rows_flags in zip(masks, row_any):
        rows = np.flatnonzero(rows_flags)
        out.append(_encode_box(mask, rows) if rows.size else '')
    return out


def rle_encode(mask: Mask) -> str:
    """Encode one (H, W) bool mask (numpy array or torch tensor)."""
    if isinstance(mask, torch.Tensor):
        return rle_encode_batch(mask[None])[0]
    mask = np.asarray(mask)
    return _encode_numpy(mask.reshape((1, ) + mask.shape[-2:]))[0]


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
    return _encode_numpy(np.asarray(masks))


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
