"""The label audit's statistics and scoring on phantom labels with known faults, against
stand-in out-of-fold probabilities (the true masks, blurred): no training."""
import cv2
import numpy as np
import pytest

from mmseg_ext.datasets.phantom_faults import phantom_masks
from mmseg_ext.evaluation.anatomy import mask_features
from mmseg_ext.evaluation.label_audit import (ImageMeasures, grid_shape, label_grid,
                                              normal_equivalent, oof_statistics, robust_scores,
                                              score_pairs)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.masks.bitmask import pack_bits

SIZE = 256
NUM_IMAGES = 24
C = HAND_BONE_CLASSES


def _stand_in_probs(masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The true masks blurred, with a little noise: a good but imperfect OOF model."""
    probs = np.stack([cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.2) for m in masks])
    return np.clip(probs + rng.normal(0, 0.02, probs.shape).astype(np.float32), 0, 1)


def _disc_far_away(mask: np.ndarray, hand: np.ndarray) -> np.ndarray:
    out = mask.copy()
    ys, xs = np.nonzero(mask)
    radius = max(2, int(np.sqrt(mask.sum() / np.pi)))
    candidates = np.argwhere(hand)
    far = candidates[np.hypot(candidates[:, 0] - ys.mean(), candidates[:, 1] - xs.mean())
                     > 3 * np.sqrt(mask.sum())]
    y, x = far[len(far) // 2]
    cv2.circle(out.view(np.uint8), (int(x), int(y)), radius, 1, -1)
    return out


FAULTS = {  # image index -> (kind, class, partner)
    1: ('swap', 'finger-6', 'finger-7'),
    2: ('missing', 'Capitate', ''),
    3: ('extra', 'finger-12', ''),
    4: ('shift', 'Lunate', ''),
    5: ('boundary', 'Radius', ''),
}


def _faulty(masks: np.ndarray, kind: str, name: str, partner: str) -> np.ndarray:
    out = masks.copy()
    c = C.index(name)
    if kind == 'swap':
        d = C.index(partner)
        out[c], out[d] = masks[d], masks[c]
    elif kind == 'missing':
        out[c] = False
    elif kind == 'extra':
        out[c] = _disc_far_away(masks[c], masks.any(axis=0))
    elif kind == 'shift':
        out[c] = np.roll(masks[c], (4, 3), axis=(0, 1))
    else:
        out[c] = cv2.dilate(masks[c].astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return out


@pytest.fixture(scope='module')
def measured():
    """(measures with OOF statistics, the true masks) of NUM_IMAGES phantoms, the FAULTS
    put into the labels of images 1-5."""
    rng = np.random.default_rng(3)
    measures = []
    for i in range(NUM_IMAGES):
        truth = phantom_masks(SIZE, rng)
        labels = _faulty(truth, *FAULTS[i]) if i in FAULTS else truth
        stats = oof_statistics(labels, _stand_in_probs(truth, rng))
        measures.append(ImageMeasures(f'ID{i:03d}/image{i}', f'image{i}.png',
                                      mask_features(labels, max_side=SIZE), stats))
    return measures


def test_each_fault_is_flagged_named_and_its_kind_given(measured):
    result = score_pairs(measured, C)
    for i, (kind, name, partner) in FAULTS.items():
        flagged = result.flagged(i)
        assert flagged, (kind, result.details[i])
        top = flagged[0]
        assert C[top] in (name, partner), (kind, C[top], result.details[i][top])
        assert result.kinds[i][top] == kind, (kind, result.details[i][top])
        if kind == 'swap':
            assert result.partners[i][top] == (partner if C[top] == name else name)
            assert {C[c] for c in flagged[:2]} == {name, partner}
        else:
            assert result.partners[i][top] == ''


def test_clean_images_are_not_flagged_and_rank_below_the_faulty_ones(measured):
    result = score_pairs(measured, C)
    clean = [i for i in range(NUM_IMAGES) if i not in FAULTS]
    assert not any(result.flagged(i) for i in clean), [
        (i, result.details[i][int(np.argmax(result.scores[i]))]) for i in clean
        if result.flagged(i)]
    assert set(result.ranking()[:len(FAULTS)]) == set(FAULTS)
    assert all(result.kinds[i][c] == '' and result.partners[i][c] == ''
               for i in clean for c in range(len(C)))


def test_labels_only_finds_the_gross_faults_from_the_anatomy(measured):
    result = score_pairs(measured, C, labels_only=True)
    assert not any(result.with_oof)
    for i in (1, 2, 3):  # swap, missing, extra: visible on the labels alone
        kind, name, partner = FAULTS[i]
        top = result.flagged(i)[0]
        assert C[top] in (name, partner) and result.kinds[i][top] == kind, result.details[i]
    assert result.scores[2, C.index('Capitate')] == pytest.approx(20.0)  # MISSING_SCORE


def test_an_empty_label_is_missing_whether_or_not_the_oof_finds_the_bone(measured):
    """An empty label of a bone that every other label has is flagged; the detail says
    whether the OOF model finds the bone (a label fault) or not (the bone may be absent)."""
    rng = np.random.default_rng(11)
    truth = phantom_masks(SIZE, rng)
    truth[C.index('Pisiform')] = False
    extra = ImageMeasures('ID099/x', 'x.png', mask_features(truth, max_side=SIZE),
                          oof_statistics(truth, _stand_in_probs(truth, rng)))
    result = score_pairs([*measured, extra], C)
    pisiform = C.index('Pisiform')
    assert result.kinds[-1][pisiform] == 'missing' and result.flagged(len(measured)) == [
        pisiform]
    assert 'the OOF does not find it either' in result.details[-1][pisiform]
    capitate = C.index('Capitate')
    assert 'soft Dice with the OOF 0.' in result.details[2][capitate]


def test_robust_scores_per_class_ignore_the_outlier_and_respect_the_floor():
    rng = np.random.default_rng(0)
    values = np.stack([rng.normal(1.0, 0.1, 2000), np.full(2000, 5.0)], axis=1)
    values[-1] = [1.5, 5.02]
    z = robust_scores(values, floor=0.01, two_sided=True)
    assert z[-1, 0] == pytest.approx(5.0, abs=0.4)  # median 1, 1.4826 x MAD ~ 0.1
    assert np.abs(z[:-1, 0]).max() < 4.5
    assert z[-1, 1] == pytest.approx(2.0, abs=0.05)  # MAD 0: the floor 0.01
    one_sided = robust_scores(-values, floor=0.01, two_sided=False)
    assert one_sided[-1, 0] == 0  # below the median: not suspicious
    vectors = np.zeros((2000, 1, 2))
    vectors[-1, 0] = [0.03, 0.04]
    length = robust_scores(vectors, floor=0.01, two_sided=True)[-1, 0]
    assert 4.4 < length < 4.6  # the chi tail of a length of 5: a normal score of 4.48
    at_median = robust_scores(vectors, floor=0.01, two_sided=True)[:-1, 0]
    assert (at_median == 0).all()  # no -inf or negative score at the median
    assert np.isnan(robust_scores(np.full((3, 1), np.nan), 1.0, True)).all()


def test_scores_from_few_images_are_judged_less_strictly():
    z = np.full(4, 6.0)
    samples = np.array([2, 5, 30, 100000])
    out = normal_equivalent(z, samples)
    assert np.isnan(out[0])                       # fewer than 3: no judgement
    assert out[1] < out[2] < out[3] < 6.0
    assert out[3] == pytest.approx(6.0, abs=0.01)
    minus_six = normal_equivalent(np.array([-6.0]), np.array([100000]))[0]
    assert minus_six == pytest.approx(-6.0, abs=0.01)
    far = normal_equivalent(np.array([50.0, 200.0, 1e3, 1e6]), np.array([400]))
    assert np.isfinite(far).all() and (np.diff(far) > 0).all()  # no underflow, still ranked


def test_grid_and_area_averaged_labels():
    assert grid_shape((2048, 2048), 512) == (512, 512)
    assert grid_shape((2000, 1500), 512) == (512, 384)
    assert grid_shape((300, 200), 512) == (300, 200)
    masks = np.zeros((2, 8, 8), bool)
    masks[0, :4, :4] = True        # covers whole cells
    masks[1, 0, 0] = True          # a quarter of one cell: not kept
    grid = label_grid(pack_bits(masks), 2, (4, 4))
    assert grid[0].sum() == 4 and grid[0, :2, :2].all()
    assert not grid[1].any()
