"""Zeroed (C, H, W) bool mask tensors, reused from image to image once released.

A fresh (29, 2048, 2048) bool tensor is 121 MB of new pages: on a CPU, the
kernel's page faults cost 0.05-0.2 s per image, where zeroing a buffer that is
already mapped costs ~10 ms. A buffer is handed out again only when nothing
outside the pool refers to it: no Python reference to the tensor and no view,
NumPy array or storage object sharing its memory (the storage's use count is
back to what it was when the buffer was made). Masks that a caller keeps are
therefore never overwritten; the pool then makes a new tensor, as without it.
"""
import sys
import threading
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

_USE_COUNT = getattr(torch._C, '_storage_Use_Count', None)  # absent: no pooling


def _sharing(tensor: Tensor) -> Tuple[int, int]:
    """(Python references to ``tensor``'s storage object, tensors and arrays sharing that
    storage): both rise when anything outside the pool holds the memory."""
    storage = tensor.untyped_storage()
    return sys.getrefcount(storage), int(_USE_COUNT(storage._cdata))


class MaskBuffers:
    """A small pool of CPU bool tensors, zeroed on each hand-out.

    On other devices (PyTorch's caching allocator already reuses memory) and
    where the storage use count cannot be read, :meth:`zeros` is
    ``torch.zeros``.

    Args:
        capacity (int): Buffers kept at most (e.g. one per image of a test
            batch). Defaults to 4.
    """

    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self._buffers: List[Tensor] = []
        self._baselines: List[Tuple[int, int]] = []
        self._lock = threading.Lock()

    def zeros(self, shape: Sequence[int], device: torch.device) -> Tensor:
        """A zeroed bool tensor of ``shape`` on ``device``: a released buffer when one fits.

        Args:
            shape (Sequence[int]): The tensor's shape, e.g. (C, H, W).
            device (torch.device): Where it lives; only CPU tensors are pooled.
        """
        shape = tuple(int(v) for v in shape)
        device = torch.device(device)
        if device.type != 'cpu' or _USE_COUNT is None:
            return torch.zeros(shape, dtype=torch.bool, device=device)
        with self._lock:
            index = self._released(shape)
            if index is not None:
                return self._buffers[index].zero_()
            return self._new(shape)

    def _released(self, shape: tuple) -> Optional[int]:
        """Index of a buffer of ``shape`` that nothing outside the pool refers to."""
        for index in range(len(self._buffers)):
            if self._buffers[index].shape == shape and self._is_released(index):
                return index
        return None

    def _is_released(self, index: int) -> bool:
        # references: the pool's list and getrefcount's argument
        return (sys.getrefcount(self._buffers[index]) == 2
                and _sharing(self._buffers[index]) == self._baselines[index])

    def _new(self, shape: tuple) -> Tensor:
        buffer = torch.zeros(shape, dtype=torch.bool)
        if len(self._buffers) >= self.capacity:  # replace a released one (another shape)
            index = next((i for i in range(len(self._buffers)) if self._is_released(i)), None)
            if index is None:
                return buffer  # all in use: not pooled
            del self._buffers[index], self._baselines[index]
        self._buffers.append(buffer)
        self._baselines.append(_sharing(buffer))
        return buffer


MASK_BUFFERS = MaskBuffers()
