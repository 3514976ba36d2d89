"""Injected label faults change the classes they name, and only those."""
import numpy as np
import pytest

from mmseg_ext.datasets.phantom_faults import (BOUNDARY_PX_2048, FAULTS, LABEL_FAULTS,
                                               SHIFT_PX_2048, inject_fault, inject_label_fault,
                                               phantom_masks)
from mmseg_ext.datasets.phantoms import render_hand


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


def _rasterised(annotations, size):
    import cv2
    out = {}
    for a in annotations:
        mask = out.setdefault(a['label'], np.zeros((size, size), np.uint8))
        cv2.fillPoly(mask, [np.rint(np.asarray(a['points'])).astype(np.int32)], 1)
    return {k: v.astype(bool) for k, v in out.items()}


@pytest.mark.parametrize('kind', LABEL_FAULTS)
def test_a_label_fault_changes_its_bones_as_described(kind):
    size = 512
    rng = np.random.default_rng(LABEL_FAULTS.index(kind))
    _, bones = render_hand(size, rng, left=False)
    annotations = [dict(label=k, points=np.round(v, 1).tolist()) for k, v in bones.items()]
    before = _rasterised(annotations, size)
    faulty, affected = inject_label_fault(annotations, kind, size, rng)
    after = _rasterised(faulty, size)
    assert _rasterised(annotations, size).keys() == before.keys()  # input not changed
    changed = sorted(k for k in before
                     if k not in after or not np.array_equal(before[k], after[k]))
    assert changed == sorted(affected) and len(affected) == (2 if kind == 'swap' else 1)
    name = affected[0]
    if kind == 'swap':
        assert all(k.startswith('finger-') for k in affected)
        assert np.array_equal(after[affected[0]], before[affected[1]])
    elif kind == 'missing':
        assert name not in after and len(faulty) == len(annotations) - 1
    elif kind == 'extra':
        assert len(faulty) == len(annotations) + 1
        assert after[name].sum() == pytest.approx(2 * before[name].sum(), rel=0.25)
    elif kind == 'shift':
        ys0, xs0 = np.nonzero(before[name])
        ys1, xs1 = np.nonzero(after[name])
        moved = np.hypot(xs1.mean() - xs0.mean(), ys1.mean() - ys0.mean())
        assert moved == pytest.approx(SHIFT_PX_2048 * size / 2048, abs=0.6)
    else:  # the outline moves 2-2.5 px at 512: the area changes by about that x perimeter
        import cv2
        contours, _ = cv2.findContours(before[name].astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        perimeter = sum(cv2.arcLength(c, True) for c in contours)
        change = abs(int(after[name].sum()) - int(before[name].sum())) / perimeter
        low, high = (v * size / 2048 for v in BOUNDARY_PX_2048)
        assert 0.7 * low < change < 1.3 * high


def test_unknown_label_fault_is_named():
    with pytest.raises(ValueError, match="'melt'"):
        inject_label_fault([], 'melt', 64, np.random.default_rng(0))
