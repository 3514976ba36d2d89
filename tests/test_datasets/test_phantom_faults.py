"""Injected label faults change the classes they name, and only those."""
import numpy as np
import pytest

from mmseg_ext.datasets.phantom_faults import FAULTS, inject_fault, phantom_masks


@pytest.mark.parametrize('fault', FAULTS)
def test_a_fault_changes_exactly_its_classes(fault):
    rng = np.random.default_rng(FAULTS.index(fault))
    masks = phantom_masks(128, rng)
    before = masks.copy()
    faulty, affected = inject_fault(masks, fault, rng)
    assert np.array_equal(masks, before)  # the input is not changed
    changed = [c for c in range(len(masks)) if not np.array_equal(faulty[c], masks[c])]
    assert changed == sorted(affected) and len(affected) == (2 if fault == 'swap' else 1)
    if fault == 'drop':
        assert not faulty[affected[0]].any()


def test_unknown_fault_is_named():
    with pytest.raises(ValueError, match="'melt'"):
        inject_fault(np.zeros((2, 4, 4), bool), 'melt', np.random.default_rng(0))
