import torch

from mmseg_ext.utils.masks.mask_buffers import MaskBuffers

SHAPE = (3, 8, 8)


def _released_and_reused(keep) -> bool:
    """Whether the pool hands out the first buffer's memory again while ``keep(first)``
    is held."""
    pool = MaskBuffers(capacity=2)
    first = pool.zeros(SHAPE, 'cpu')
    first[1, 2, 3] = True
    address = first.data_ptr()
    held = keep(first)
    del first
    second = pool.zeros(SHAPE, 'cpu')
    reused = second.data_ptr() == address
    if not reused:
        assert held is not None
    assert not second.any()
    return reused


def test_released_buffer_is_zeroed_and_reused():
    assert _released_and_reused(lambda masks: None)


def test_buffer_still_referred_to_is_never_handed_out():
    kept = [
        lambda masks: masks,  # the tensor itself
        lambda masks: masks[1],  # a view
        lambda masks: masks.numpy(),  # an array sharing its memory
        lambda masks: masks.untyped_storage(),
        lambda masks: {'pred': masks},
    ]
    for keep in kept:
        assert not _released_and_reused(keep)


def test_kept_masks_keep_their_values():
    pool = MaskBuffers(capacity=1)
    first = pool.zeros(SHAPE, 'cpu')
    first[0] = True
    second = pool.zeros(SHAPE, 'cpu')  # the pool is full and its buffer in use
    second[2] = True
    assert first[0].all() and not first[1:].any()
    assert second[2].all() and not second[:2].any()


def test_other_shapes_replace_released_buffers():
    pool = MaskBuffers(capacity=1)
    small = pool.zeros(SHAPE, 'cpu')
    del small
    large = pool.zeros((3, 16, 16), 'cpu')
    assert large.shape == (3, 16, 16) and large.dtype == torch.bool and not large.any()
    address = large.data_ptr()
    del large
    assert pool.zeros((3, 16, 16), 'cpu').data_ptr() == address
