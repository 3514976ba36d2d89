"""Anatomical sanity check of multi-label predictions, without labels.

:class:`AnatomyPriors` are learned from a dataset's annotations (any class
list): per class, how often it is present, its area relative to the image's
scale (the median over its classes of area / mean class area), its centroid
relative to the centre and scale of the whole labelled structure
(mirror-aligned, so left and right hands share one prior),
how many separate components it has, and how much each pair of classes may
overlap. :func:`check_masks` scores one prediction against them and returns
:class:`Finding` s: missing, split, extra blob, area out of range, out of
place (e.g. two labels swapped), implausible overlap.

Features are computed on masks strided to at most ``max_side`` pixels, so a
check of 29 x 2048² masks takes a few milliseconds.
"""
import json
import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
from mmseg_ext.utils.masks.bitmask import rasterize_bitmask, unpack_bits
from mmseg_ext.utils.masks.boxes import bounding_box

FINDING_KINDS = ('missing', 'unexpected', 'split', 'extra_blob', 'area', 'position', 'overlap')


@dataclass
class Finding:
    """One anomaly of one class in one prediction.

    Args:
        class_name (str): The class concerned.
        kind (str): One of :data:`FINDING_KINDS`.
        detail (str): What was measured against what was expected.
        severity (float): How far from the prior (in standard deviations, or
            a fixed weight for missing/split/blob/overlap findings).
    """
    class_name: str
    kind: str
    detail: str
    severity: float


@dataclass
class MaskFeatures:
    """Per-class measurements of one (C, H, W) prediction (strided).

    Args:
        areas (np.ndarray): (C,) pixels per class at the strided size.
        centroids (np.ndarray): (C, 2) x, y per class (NaN when absent).
        components (list): Per class, (area, y0, y1, x0, x1) of each component (the box
            order of :func:`~mmseg_ext.utils.masks.geometry.bounding_box`).
        boxes (list): Per class, (y0, y1, x0, x1) or None.
        overlaps (dict): (i, j) -> |i ∩ j| / min(|i|, |j|) for pairs that touch.
    """
    areas: np.ndarray
    centroids: np.ndarray
    components: List[List[Tuple[int, int, int, int, int]]]
    boxes: List[Optional[Tuple[int, int, int, int]]]
    overlaps: Dict[Tuple[int, int], float]

    def scale(self, class_means: np.ndarray) -> float:
        """Size of this structure relative to the priors' mean: the median over present
        classes of area / mean area, so one wrong class barely moves it.

        Args:
            class_means (np.ndarray): (C,) mean area of each class at unit scale, in
                strided pixels (:attr:`AnatomyPriors.class_area`).

        Returns:
            float: The scale; 1.0 when no present class has a positive mean area.
        """
        use = (self.areas > 0) & (class_means > 0)
        if not use.any():
            return 1.0
        return float(np.median(self.areas[use] / class_means[use]))

    def relative_areas(self, class_means: np.ndarray, scale: float) -> np.ndarray:
        """(C,) area / (scale x class mean area): about 1 where a class has its usual size.

        Args:
            class_means (np.ndarray): (C,) mean area of each class at unit scale
                (:attr:`AnatomyPriors.class_area`).
            scale (float): This structure's scale (:meth:`scale`).
        """
        return self.areas / (scale * np.maximum(class_means, 1e-9))

    def normalised_positions(self, scale: float) -> np.ndarray:
        """(C, 2) centroids relative to the mean centroid, in units of sqrt(scale).

        Args:
            scale (float): This structure's scale (:meth:`scale`).

        Returns:
            np.ndarray: (C, 2) x, y; NaN for absent classes (all NaN when none is present).
        """
        present = self.areas > 0
        if not present.any():
            return np.full(self.centroids.shape, np.nan)
        centre = self.centroids[present].mean(axis=0)
        return (self.centroids - centre) / math.sqrt(max(scale, 1e-9))


def _stride(shape: Sequence[int], max_side: int) -> int:
    return max(1, math.ceil(max(shape) / max_side))


def mask_features(masks: np.ndarray, max_side: int = 512) -> MaskFeatures:
    """Measure (C, H, W) bool masks on a grid strided to at most ``max_side`` pixels.

    Args:
        masks (np.ndarray): (C, H, W) bool masks of one image.
        max_side (int): Longest side of the strided grid: every
            ``ceil(max(H, W) / max_side)``-th row and column is measured. Defaults to 512.

    Returns:
        MaskFeatures: The measurements, in pixels of the strided grid.
    """
    step = _stride(masks.shape[1:], max_side)
    small = np.ascontiguousarray(masks[:, ::step, ::step]).view(np.uint8)
    num = small.shape[0]
    areas = np.zeros(num, np.int64)
    centroids = np.full((num, 2), np.nan)
    components: List[list] = [[] for _ in range(num)]
    boxes: List[Optional[tuple]] = [None] * num
    for c in range(num):
        boxes[c] = bounding_box(small[c])
        if boxes[c] is None:
            continue
        y0, y1, x0, x1 = boxes[c]
        _, _, stats, cents = cv2.connectedComponentsWithStats(small[c, y0:y1, x0:x1], 8)
        comp_areas = stats[1:, cv2.CC_STAT_AREA]
        areas[c] = int(comp_areas.sum())
        centroids[c] = (cents[1:] * comp_areas[:, None]).sum(axis=0) / areas[c] + [x0, y0]
        for (left, top, width, height, area) in stats[1:].tolist():
            components[c].append((area, y0 + top, y0 + top + height, x0 + left,
                                  x0 + left + width))
    overlaps = {}
    present = [c for c in range(num) if boxes[c] is not None]
    for a, i in enumerate(present):
        for j in present[a + 1:]:
            (ay0, ay1, ax0, ax1), (by0, by1, bx0, bx1) = boxes[i], boxes[j]
            y0, y1, x0, x1 = max(ay0, by0), min(ay1, by1), max(ax0, bx0), min(ax1, bx1)
            if y0 >= y1 or x0 >= x1:
                continue
            inter = int(np.count_nonzero(small[i, y0:y1, x0:x1] & small[j, y0:y1, x0:x1]))
            if inter:
                overlaps[(i, j)] = inter / min(areas[i], areas[j])
    return MaskFeatures(areas, centroids, components, boxes, overlaps)


def annotation_features(polygons: Sequence[Tuple[int, np.ndarray]], shape: Sequence[int],
                        num_classes: int, max_side: int = 512) -> MaskFeatures:
    """:func:`mask_features` of annotation polygons (class index, (K, 2) x, y points) of an
    image of ``shape``: rasterised at full size, then strided exactly as predictions are.

    Args:
        polygons (Sequence[tuple]): (class index, (K, 2) x, y points) pairs (a dataset
            info's ``gt_polygons``).
        shape (Sequence[int]): (H, W) of the image.
        num_classes (int): Number of classes C (the channels of the features).
        max_side (int): Longest side of the strided grid, as for :func:`mask_features`.
            Defaults to 512.
    """
    step = _stride(shape, max_side)
    bits = rasterize_bitmask(polygons, tuple(shape), num_classes)[::step, ::step]
    return mask_features(unpack_bits(bits, num_classes), max_side=max(bits.shape))


def mirror_aligned(positions: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``positions`` or their mirror image (x negated), whichever is closer to ``reference``.

    Args:
        positions (np.ndarray): (C, 2) x, y positions about the structure's centre.
        reference (np.ndarray): (C, 2) positions to compare with (a right hand's).
    """
    mirrored = positions * [-1, 1]
    direct = np.nansum((positions - reference) ** 2)
    return mirrored if np.nansum((mirrored - reference) ** 2) < direct else positions


@dataclass
class AnatomyPriors:
    """Per-class statistics of a dataset's annotations (JSON-serialisable).

    Args:
        classes (list): Class names.
        presence (list): Fraction of images where each class is present.
        class_area (list): Mean area of each class at unit scale (pixels of
            the strided grid); an image's scale is the median of its classes'
            area / class_area.
        area_mean, area_std (list): Area / (scale x class_area), about 1.
        pos_mean, pos_std (list): (x, y) of the centroid relative to the
            labelled structure's centre, in units of sqrt(scale),
            mirror-aligned.
        max_components (list): Most components seen per class (components
            of at least ``min_component`` of the class's mean area).
        overlap_max (dict): ``"i,j"`` -> the largest overlap fraction seen.
        images (int): Number of annotated images the priors come from.
        min_component (float): Smallest component counted, as a fraction of
            the class's mean area.
    """
    classes: List[str]
    presence: List[float]
    class_area: List[float]
    area_mean: List[float]
    area_std: List[float]
    pos_mean: List[List[float]]
    pos_std: List[List[float]]
    max_components: List[int]
    overlap_max: Dict[str, float]
    images: int
    min_component: float = 0.1

    @classmethod
    def fit(cls, features: Sequence[MaskFeatures], classes: Sequence[str],
            min_component: float = 0.1) -> 'AnatomyPriors':
        """Priors from the features of ground-truth masks.

        Args:
            features (Sequence[MaskFeatures]): One per annotated image (e.g. from
                :func:`annotation_features`), all with the same C classes.
            classes (Sequence[str]): The C class names, in channel order.
            min_component (float): Smallest component counted in ``max_components``, as a
                fraction of the class's mean area at the image's scale. Defaults to 0.1.
        """
        areas = np.stack([f.areas for f in features]).astype(np.float64)
        present = areas > 0
        with np.errstate(invalid='ignore', divide='ignore'):
            class_area = np.nan_to_num(np.nanmedian(np.where(present, areas, np.nan), axis=0))
            for _ in range(3):  # class sizes and image scales, each from the other
                scales = np.array([f.scale(class_area) for f in features])
                class_area = np.nan_to_num(np.nanmean(
                    np.where(present, areas / scales[:, None], np.nan), axis=0))
        final = [f.scale(class_area) for f in features]  # scales at the final class areas
        rel = np.stack([f.relative_areas(class_area, s) for f, s in zip(features, final)])
        positions = [f.normalised_positions(s) for f, s in zip(features, final)]
        reference = positions[0]
        for _ in range(2):  # align mirror images to the running mean
            aligned = np.stack([mirror_aligned(p, reference) for p in positions])
            reference = np.nanmean(aligned, axis=0)
        area_mean = np.array([rel[present[:, c], c].mean() if present[:, c].any() else 0.0
                              for c in range(len(classes))])
        area_std = np.array([rel[present[:, c], c].std() if present[:, c].sum() > 1 else 0.0
                             for c in range(len(classes))])
        with np.errstate(invalid='ignore'):
            pos_std = np.nanstd(aligned, axis=0)
        max_components = np.zeros(len(classes), int)
        overlap_max: Dict[str, float] = {}
        for f, scale in zip(features, final):
            for c, comps in enumerate(f.components):
                big = sum(a >= min_component * scale * class_area[c] for a, *_ in comps)
                max_components[c] = max(max_components[c], big)
            for (i, j), value in f.overlaps.items():
                key = f'{i},{j}'
                overlap_max[key] = max(overlap_max.get(key, 0.0), float(value))
        return cls(classes=list(classes), presence=present.mean(axis=0).tolist(),
                   class_area=class_area.tolist(), area_mean=area_mean.tolist(),
                   area_std=area_std.tolist(), pos_mean=np.nan_to_num(reference).tolist(),
                   pos_std=np.nan_to_num(pos_std).tolist(),
                   max_components=max_components.tolist(), overlap_max=overlap_max,
                   images=len(features), min_component=min_component)

    def save(self, path: str) -> None:
        """Write the priors to a JSON file (atomically).

        Args:
            path (str): The JSON file.
        """
        atomic_write_bytes(json.dumps(asdict(self), indent=1).encode(), path)

    @classmethod
    def load(cls, path: str) -> 'AnatomyPriors':
        """Priors written by :meth:`save`.

        Args:
            path (str): The JSON file.
        """
        with open(path) as f:
            return cls(**json.load(f))


@dataclass
class CheckThresholds:
    """How far from the priors a measurement may be before it is a finding.

    ``area_z`` and ``position_z`` are normal-distribution limits; they are
    widened to the prediction interval of a new image given that the priors'
    means and deviations come from ``priors.images`` samples (Student's t,
    x sqrt(1 + 1/n)), so small annotation sets do not flag clean images.

    Args:
        area_z (float): Standard deviations of relative area.
        position_z (float): Standard deviations of centroid position.
        area_floor (float): Smallest area std, as a fraction of the mean.
        position_floor (float): Smallest position std (units of sqrt(scale)).
        overlap_margin (float): Overlap allowed beyond the largest seen (and
            at least twice the largest seen).
        split_gap (float): Extra components closer than this (in units of the
            class's expected side) count as a split, farther as an extra blob.
    """
    area_z: float = 4.0
    position_z: float = 4.5
    area_floor: float = 0.05
    position_floor: float = 0.01
    overlap_margin: float = 0.25
    split_gap: float = 0.5


def _prediction_limit(z: float, samples: int) -> float:
    """The t-based limit with the same two-sided tail as ``z`` for ``samples`` estimates."""
    if samples < 3:
        return z * 3
    from scipy.stats import norm, t
    return float(t.ppf(norm.cdf(z), df=samples - 1) * math.sqrt(1 + 1 / samples))


def _component_findings(name: str, comps: list, expected_area: float, allowed: int,
                        min_component: float, split_gap: float) -> List[Finding]:
    big = sorted((c for c in comps if c[0] >= min_component * expected_area), reverse=True)
    if len(big) <= max(allowed, 1):
        return []
    _, my0, my1, mx0, mx1 = big[0]
    side = math.sqrt(max(expected_area, 1.0))
    findings = []
    for area, y0, y1, x0, x1 in big[max(allowed, 1):]:
        gap = max(mx0 - x1, x0 - mx1, my0 - y1, y0 - my1, 0)
        kind = 'split' if gap <= split_gap * side else 'extra_blob'
        findings.append(Finding(name, kind, f'{len(big)} components (expected {max(allowed, 1)}); '
                                f'one of {area / expected_area:.0%} of the expected area '
                                f'{gap / side:.2f} sides away', 3.0))
    return findings


def check_masks(masks: np.ndarray, priors: AnatomyPriors,
                thresholds: Optional[CheckThresholds] = None,
                max_side: int = 512) -> List[Finding]:
    """Score (C, H, W) bool masks against ``priors``; worst findings first
    (``thresholds`` default: :class:`CheckThresholds`' defaults).

    Args:
        masks (np.ndarray): (C, H, W) bool masks of one image, channels in the order of
            ``priors.classes``.
        priors (AnatomyPriors): The dataset's priors.
        thresholds (CheckThresholds, optional): How far a measurement may be from the
            priors.
        max_side (int): Longest side of the grid the masks are measured on
            (:func:`mask_features`). Defaults to 512.

    Returns:
        list[Finding]: Sorted by severity, worst first; empty when nothing is wrong.
    """
    return check_features(mask_features(masks, max_side), priors, thresholds)


def check_features(features: MaskFeatures, priors: AnatomyPriors,
                   thresholds: Optional[CheckThresholds] = None) -> List[Finding]:
    """:func:`check_masks` on already measured features.

    Args:
        features (MaskFeatures): One prediction's features (:func:`mask_features`).
        priors (AnatomyPriors): The dataset's priors.
        thresholds (CheckThresholds, optional): How far a measurement may be from the
            priors; default :class:`CheckThresholds`' defaults.

    Returns:
        list[Finding]: Sorted by severity, worst first; empty when nothing is wrong.
    """
    t = thresholds or CheckThresholds()
    presence = np.asarray(priors.presence)
    area_mean, area_std = np.asarray(priors.area_mean), np.asarray(priors.area_std)
    pos_mean, pos_std = np.asarray(priors.pos_mean), np.asarray(priors.pos_std)
    area_limit = _prediction_limit(t.area_z, priors.images)
    position_limit = _prediction_limit(t.position_z, priors.images)
    class_area = np.asarray(priors.class_area)
    scale = features.scale(class_area)
    rel = features.relative_areas(class_area, scale)
    positions = mirror_aligned(features.normalised_positions(scale), pos_mean)
    findings: List[Finding] = []
    for c, name in enumerate(priors.classes):
        if features.areas[c] == 0:
            if presence[c] >= 0.5:
                findings.append(Finding(name, 'missing', 'no pixels (present in '
                                        f'{presence[c]:.0%} of annotations)', 5.0))
            continue
        if presence[c] < 0.05:
            findings.append(Finding(name, 'unexpected', 'present, absent in annotations', 3.0))
            continue
        std = max(area_std[c], t.area_floor * area_mean[c])
        z = (rel[c] - area_mean[c]) / std
        if abs(z) > area_limit:
            findings.append(Finding(name, 'area', f'{rel[c] / area_mean[c]:.0%} of the expected '
                                    f'area ({z:+.1f} sd)', float(abs(z))))
        dz = (positions[c] - pos_mean[c]) / np.maximum(pos_std[c], t.position_floor)
        distance = float(np.hypot(*dz))
        if distance > position_limit:
            findings.append(Finding(name, 'position', f'centroid {distance:.1f} sd from its '
                                    'expected place', distance))
        findings += _component_findings(name, features.components[c], scale * class_area[c],
                                        priors.max_components[c], priors.min_component,
                                        t.split_gap)
    for (i, j), value in features.overlaps.items():
        seen = priors.overlap_max.get(f'{i},{j}', 0.0)
        if value > max(seen + t.overlap_margin, 2 * seen):
            findings.append(Finding(priors.classes[i], 'overlap',
                                    f'overlaps {priors.classes[j]} by {value:.0%} '
                                    f'(at most {seen:.0%} seen)', 2.0))
    return sorted(findings, key=lambda x: -x.severity)


def findings_score(findings: Sequence[Finding]) -> float:
    """One number per image: the sum of its findings' severities (0: none).

    Args:
        findings (Sequence[Finding]): One image's findings (:func:`check_masks`).
    """
    return float(sum(f.severity for f in findings))
