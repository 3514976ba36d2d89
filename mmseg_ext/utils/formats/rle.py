"""Run-length encoding in the competition's format.

A mask is flattened row-major; runs of foreground are written as 1-based
``start length`` pairs separated by single spaces; an empty mask is ''.
"""
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

Mask = Union[np.ndarray, torch.Tensor]


def _format_runs(values: List[int]) -> str:
    """``[s0, l0, s1, l1, ...]`` -> ``'s0 l0 s1 l1 ...'``."""
    return ('%d ' * len(values) % tuple(values))[:-1]


def _format_by_class(classes: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                     num_classes: int) -> List[str]:
    """One RLE string per class from runs sorted by class (0-based starts)."""
    pairs = np.empty(starts.size * 2, np.int64)
    pairs[0::2] = starts + 1
    pairs[1::2] = lengths
    values = pairs.tolist()
    bounds = (2 * np.searchsorted(classes, np.arange(num_classes + 1))).tolist()
    return [_format_runs(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _rows_with_foreground(masks: np.ndarray) -> np.ndarray:
    """(C, H) bool: which rows of each (C, H, W) mask hold foreground.

    This pass reads every pixel and is most of the encoding cost; torch's
    reduction over the bytes runs on all intra-op threads.
    """
    with warnings.catch_warnings():  # read-only arrays are only read here
        warnings.simplefilter('ignore', UserWarning)
        rows = torch.from_numpy(masks.view(np.uint8)).amax(dim=2)
    return (rows > 0).numpy()


def _bounding_boxes(masks: np.ndarray, row_any: np.ndarray) -> np.ndarray:
    """(N, 5) int64 rows ``class, top, bottom, left, right`` (ends exclusive)
    for the N non-empty masks."""
    height = masks.shape[1]
    classes = np.flatnonzero(row_any.any(axis=1))
    boxes = np.empty((classes.size, 5), np.int64)
    boxes[:, 0] = classes
    boxes[:, 1] = row_any[classes].argmax(axis=1)
    boxes[:, 2] = height - row_any[classes, ::-1].argmax(axis=1)
    for box in boxes:
        cls, top, bottom = box[:3].tolist()
        cols = masks[cls, top:bottom].any(axis=0)
        box[3] = cols.argmax()
        box[4] = cols.size - cols[::-1].argmax()
    return boxes


def _runs_in_boxes(masks: np.ndarray,
                   boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class, 0-based flat start and length of every run, sorted by class.

    All boxes are copied into one flat buffer, each box row between two
    background pixels, so one pass finds every run and no run crosses a box
    row. Runs that continue from the end of one image row into the next
    (possible only when a box spans the full width) are then merged, as
    row-major flattening requires; an offset per class keeps the runs of
    different classes apart.
    """
    _, height, width = masks.shape
    padded_widths = boxes[:, 4] - boxes[:, 3] + 2
    offsets = np.concatenate(([0], np.cumsum((boxes[:, 2] - boxes[:, 1]) * padded_widths)))
    buffer = np.zeros(int(offsets[-1]), bool)
    for (cls, top, bottom, left, right), begin, end in zip(boxes.tolist(), offsets[:-1].tolist(),
                                                           offsets[1:].tolist()):
        rows = buffer[begin:end].reshape(bottom - top, right - left + 2)
        rows[:, 1:-1] = masks[cls, top:bottom, left:right]
    edges = np.flatnonzero(buffer[1:] != buffer[:-1])
    if edges.size == 0:
        return edges, edges, edges
    box = np.searchsorted(offsets, edges, side='right') - 1
    row, col = np.divmod(edges - offsets[box], padded_widths[box])
    class_stride = height * width + 1
    flat = ((row + boxes[box, 1]) * width + col + boxes[box, 3] + boxes[box, 0] * class_stride)
    starts, ends = flat[0::2], flat[1::2]
    joined = starts[1:] == ends[:-1]
    starts = starts[np.concatenate(([True], ~joined))]
    ends = ends[np.concatenate((~joined, [True]))]
    classes = starts // class_stride
    return classes, starts - classes * class_stride, ends - starts


def _encode_numpy(masks: np.ndarray) -> List[str]:
    """Encode (C, H, W) numpy masks."""
    masks = np.ascontiguousarray(masks, dtype=bool)
    if masks.size == 0:
        return [''] * masks.shape[0]
    boxes = _bounding_boxes(masks, _rows_with_foreground(masks))
    return _format_by_class(*_runs_in_boxes(masks, boxes), num_classes=masks.shape[0])


def rle_encode(mask: Mask) -> str:
    """Encode one (H, W) bool mask (numpy array or torch tensor)."""
    if isinstance(mask, torch.Tensor):
        return rle_encode_batch(mask[None])[0]
    mask = np.asarray(mask)
    return _encode_numpy(mask.reshape((1, ) + mask.shape[-2:]))[0]


def _encode_torch(masks: torch.Tensor) -> List[str]:
    """Find run boundaries on the tensor's device; move only the indices.

    Any dtype: a pixel is foreground where it is non-zero.
    """
    if masks.shape[0] == 0:
        return []
    flat = (masks.reshape(masks.shape[0], -1) != 0).to(torch.int8)
    padded = torch.nn.functional.pad(flat, (1, 1))
    change = padded[:, 1:] != padded[:, :-1]
    cls, pos = torch.nonzero(change, as_tuple=True)
    cls, pos = cls.cpu().numpy(), pos.cpu().numpy()
    starts, ends = pos[0::2], pos[1::2]
    return _format_by_class(cls[0::2], starts, ends - starts, num_classes=masks.shape[0])


def rle_encode_batch(masks: Mask, device_path: Optional[bool] = None) -> List[str]:
    """Encode (C, H, W) masks (non-zero = foreground) to C strings.

    Args:
        masks (np.ndarray | Tensor): The masks.
        device_path (bool, optional): Find runs with torch on the tensor's
            device (only indices leave it). Defaults to True for CUDA tensors;
            True on a CPU tensor runs the same code on the CPU (its twin).
    """
    if isinstance(masks, torch.Tensor):
        if device_path if device_path is not None else masks.is_cuda:
            return _encode_torch(masks)
        masks = masks.cpu().numpy()
    return _encode_numpy(np.asarray(masks))


def rle_runs(rle: str, shape: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Check an RLE string against an image of ``shape`` (H, W) without decoding it.

    Returns:
        tuple: 0-based flat starts and exclusive ends of the runs (int64).

    Raises:
        ValueError: Malformed pairs, non-increasing or overlapping runs, or
            runs outside the image.
    """
    height, width = shape
    if not rle.strip():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
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
    return starts, ends


# Up to this many runs a mask is filled run by run; more (fragmented masks) by one cumsum.
_RUNS_FILLED_ONE_BY_ONE = 4096


def rle_decode(rle: str, shape: Sequence[int]) -> np.ndarray:
    """Decode an RLE string to an (H, W) bool mask.

    Raises:
        ValueError: As :func:`rle_runs`.
    """
    out = np.empty(tuple(shape), dtype=bool)
    rle_decode_into(rle, out)
    return out


def rle_decode_into(rle: str, out: np.ndarray) -> None:
    """Decode an RLE string into ``out``, a C-contiguous (H, W) bool array (e.g. one
    plane of a (C, H, W) array), overwriting it.

    Raises:
        ValueError: As :func:`rle_runs`, or ``out`` not C-contiguous bool.
    """
    if out.dtype != bool or out.ndim != 2 or not out.flags.c_contiguous:
        raise ValueError(f'rle_decode_into needs a C-contiguous (H, W) bool array, got '
                         f'{out.dtype} {out.shape}')
    starts, ends = rle_runs(rle, out.shape)
    flat = out.reshape(-1)
    if starts.size <= _RUNS_FILLED_ONE_BY_ONE:
        flat[:] = False
        for start, end in zip(starts.tolist(), ends.tolist()):
            flat[start:end] = True
        return
    # +1 at each start, -1 at each end; the running sum is 1 inside a run.
    steps = np.zeros(flat.size + 1, np.int8)
    steps[starts] = 1
    steps[ends] -= 1  # ends are distinct; one may fall on the next run's start
    np.cumsum(steps[:-1], dtype=np.int8, out=steps[:-1])
    flat[:] = steps[:-1].view(bool)
