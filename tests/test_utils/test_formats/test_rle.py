import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mmseg_ext.utils.formats.rle import rle_decode, rle_encode, rle_encode_batch
from mmseg_ext.utils.masks.bitmask import pack_bits, unpack_bits


def reference_rle(mask: np.ndarray) -> str:
    """The straightforward encoder: pad, diff, 1-based starts, lengths."""
    pixels = np.concatenate([[0], mask.flatten().astype(np.int64), [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return ' '.join(str(x) for x in runs)


# Widths up to 32; full-width runs cross rows.
masks_2d = st.tuples(st.integers(1, 12), st.integers(1, 12) | st.sampled_from([8, 16, 32])).flatmap(
    lambda shape: arrays(bool, shape, elements=st.booleans()))


@settings(max_examples=300, deadline=None)
@given(masks_2d)
def test_matches_reference_and_round_trips(mask):
    rle = rle_encode(mask)
    assert rle == reference_rle(mask)
    assert (rle_decode(rle, mask.shape) == mask).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5).flatmap(lambda c: arrays(bool, (c, 7, 9))))
def test_batch_numpy_torch_and_device_path_agree(masks):
    expected = [reference_rle(m) for m in masks]
    assert rle_encode_batch(masks) == expected
    assert rle_encode_batch(torch.from_numpy(masks)) == expected
    assert rle_encode_batch(torch.from_numpy(masks), device_path=True) == expected


@pytest.mark.parametrize('dtype,expected', [
    (torch.int32, '3 1 5 1 8 1'),    # 256 stays foreground (an int8 cast wrapped it to 0)
    (torch.int64, '3 1 5 1 8 1'),
    (torch.float32, '2 2 5 1 8 1'),  # 0.5 is foreground (an int8 cast truncated it to 0)
    (torch.float16, '2 2 5 1 8 1'),
    (torch.bool, '2 2 5 1 8 1'),
])
def test_device_path_takes_any_dtype_nonzero_is_foreground(dtype, expected):
    """The CPU twin of the CUDA branch agrees with the numpy path for every dtype."""
    values = torch.tensor([[[0, 0.5, 256, 0], [1, 0, 0, 3]]]).to(dtype)
    assert rle_encode_batch(values, device_path=True) == [expected]
    assert rle_encode_batch(values.numpy()) == [expected]


def test_device_path_empty_class_axis():
    assert rle_encode_batch(torch.zeros((0, 4, 4), dtype=torch.bool), device_path=True) == []
    assert rle_encode_batch(np.zeros((0, 4, 4), bool)) == []


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 31).flatmap(lambda c: arrays(bool, (c, 5, 6))))
def test_bit_packing_round_trips(masks):
    assert (unpack_bits(pack_bits(masks), masks.shape[0]) == masks).all()
    t = torch.from_numpy(masks)
    assert torch.equal(unpack_bits(pack_bits(t), t.shape[0]), t)


def test_runs_crossing_rows_are_merged():
    mask = np.zeros((4, 16), bool)
    mask[1, 10:] = mask[2, :3] = mask[3, :] = True
    assert rle_encode(mask) == reference_rle(mask) == '27 9 49 16'


def test_batch_keeps_touching_classes_apart():
    # class 0 ends at the last pixel and class 1 starts at the first: their runs must not join
    masks = np.zeros((3, 4, 8), bool)
    masks[0, 3, 5:] = masks[1, 0, :2] = masks[1, 1:, :] = True
    masks.flags.writeable = False
    assert rle_encode_batch(masks) == [reference_rle(m) for m in masks] == ['30 3', '1 2 9 24', '']
    assert rle_encode_batch(masks[:, :, ::2]) == [reference_rle(m) for m in masks[:, :, ::2]]
    assert rle_encode_batch(np.zeros((2, 0, 5), bool)) == ['', '']


def test_edge_runs_and_empty():
    mask = np.zeros((3, 4), bool)
    assert rle_encode(mask) == ''
    mask[0, 0] = mask[2, 3] = True
    assert rle_encode(mask) == '1 1 12 1'
    mask[:] = True
    assert rle_encode(mask) == '1 12'
    assert rle_encode(torch.from_numpy(mask)) == '1 12'


@pytest.mark.parametrize('rle,message', [
    ('1 2 3', 'odd'), ('a 1', 'non-integer'), ('0 1', '>= 1'), ('5 3 6 1', 'overlap'),
    ('10 5', 'beyond'),
])
def test_decode_rejects_bad_rle(rle, message):
    with pytest.raises(ValueError, match=message):
        rle_decode(rle, (3, 4))


def test_fragmented_and_compact_masks_decode_alike_into_a_plane():
    """Few runs are filled one by one, many (a checkerboard: 8192) by one cumsum."""
    from mmseg_ext.utils.formats.rle import rle_decode_into
    checker = (np.indices((128, 128)).sum(axis=0) % 2).astype(bool)
    compact = np.zeros((128, 128), bool)
    compact[20:90, 30:100] = True
    stack = np.ones((2, 128, 128), bool)
    for plane, mask in zip(stack, (checker, compact)):
        rle_decode_into(rle_encode(mask), plane)
    np.testing.assert_array_equal(stack, np.stack([checker, compact]))
    assert len(rle_encode(checker).split()) // 2 > 4096
    with pytest.raises(ValueError, match='C-contiguous'):
        rle_decode_into(rle_encode(compact), stack[:, 0])
