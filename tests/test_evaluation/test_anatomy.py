"""The anatomical check: priors from annotations, findings on faulty masks, none on clean ones."""
import numpy as np
import pytest

from mmseg_ext.datasets.phantom_faults import FAULTS, inject_fault, phantom_masks
from mmseg_ext.evaluation.anatomy import (AnatomyPriors, annotation_features, check_masks,
                                          findings_score, mask_features)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES

SIZE = 256


@pytest.fixture(scope='module')
def priors():
    rng = np.random.default_rng(5)
    return AnatomyPriors.fit([mask_features(phantom_masks(SIZE, rng)) for _ in range(30)],
                             HAND_BONE_CLASSES)


def test_priors_round_trip_through_json(priors, tmp_path):
    priors.save(str(tmp_path / 'p.json'))
    loaded = AnatomyPriors.load(str(tmp_path / 'p.json'))
    assert loaded == priors
    assert loaded.max_components == [1] * 29 and min(loaded.presence) == 1.0
    assert loaded.overlap_max  # phantom carpals overlap


def test_clean_held_out_masks_have_no_findings(priors):
    rng = np.random.default_rng(11)
    for _ in range(10):
        assert check_masks(phantom_masks(SIZE, rng), priors) == []


@pytest.mark.parametrize('fault', FAULTS)
def test_each_fault_kind_is_found_on_the_affected_class(priors, fault):
    rng = np.random.default_rng(FAULTS.index(fault))
    hits = 0
    for _ in range(6):
        faulty, affected = inject_fault(phantom_masks(SIZE, rng), fault, rng)
        names = {HAND_BONE_CLASSES[c] for c in affected}
        findings = check_masks(faulty, priors)
        hits += any(f.class_name in names for f in findings)
    assert hits >= (4 if fault in ('shrink', 'grow') else 6)


def test_swap_of_distant_fingers_is_out_of_place(priors):
    masks = phantom_masks(SIZE, np.random.default_rng(3))
    a, b = HAND_BONE_CLASSES.index('finger-3'), HAND_BONE_CLASSES.index('finger-7')
    masks[[a, b]] = masks[[b, a]]
    kinds = {(f.class_name, f.kind) for f in check_masks(masks, priors)}
    assert {('finger-3', 'position'), ('finger-7', 'position')} <= kinds


def test_missing_bone_and_score(priors):
    masks = phantom_masks(SIZE, np.random.default_rng(4))
    masks[HAND_BONE_CLASSES.index('Pisiform')] = False
    findings = check_masks(masks, priors)
    assert findings[0].class_name == 'Pisiform' and findings[0].kind == 'missing'
    assert findings_score(findings) >= 5.0


def test_annotation_features_match_mask_features():
    """Priors measured from polygons see exactly what the check sees in masks."""
    from mmseg_ext.datasets.phantoms import render_hand
    from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
    _, bones = render_hand(1024, np.random.default_rng(0), left=False)
    polygons = [(HAND_BONE_CLASSES.index(k), v) for k, v in bones.items()]
    masks = unpack_bits(rasterize_bitmask(polygons, (1024, 1024)), 29)
    from_masks = mask_features(masks, max_side=256)
    from_polygons = annotation_features(polygons, (1024, 1024), 29, max_side=256)
    assert np.array_equal(from_polygons.areas, from_masks.areas)
    assert np.allclose(from_polygons.centroids, from_masks.centroids)
