"""One image's masks as a compressed bit-map file (``tools/test.py --out``): writer and reader."""
import io
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

from ..fileio.atomic_io import atomic_write_bytes
from ..masks.bitmask import pack_bits, unpack_bits

Array = Union[np.ndarray, torch.Tensor]


def save_mask_file(path: str, masks: Array, classes: Sequence[str]) -> None:
    """Write one image's (C, H, W) masks as a compressed ``.npz`` bit map, atomically.

    The file holds ``bits`` ((H, W) int32, bit ``c`` = class ``c``) and
    ``classes``; :func:`load_mask_file` reads it back.
    """
    if len(classes) != masks.shape[-3]:
        raise ValueError(f'{path}: {masks.shape[-3]} mask planes, {len(classes)} class names')
    bits = pack_bits(masks)
    bits = bits.cpu().numpy() if isinstance(bits, torch.Tensor) else bits
    buffer = io.BytesIO()
    np.savez_compressed(buffer, bits=bits, classes=np.asarray(list(classes)))
    atomic_write_bytes(buffer.getvalue(), path)


def load_mask_file(path: str) -> Tuple[np.ndarray, List[str]]:
    """Read a file of :func:`save_mask_file`: ((C, H, W) bool masks, class names)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            bits, classes = data['bits'], [str(c) for c in data['classes']]
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f'{path}: not a mask file of save_mask_file ({err})') from err
    return unpack_bits(bits, len(classes)), classes
