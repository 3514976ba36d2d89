"""The label audit: how suspicious each (image, bone) label is, and what kind of fault it
looks like, from the out-of-fold (OOF) prediction of the image and from the anatomy of the
labels themselves.

Every image is measured on one grid (its longer side at most ``max_side`` pixels): its
label (area-averaged from the full-size polygons) and, where the image has an OOF file, the
OOF probabilities resized to that grid. Per (image, class) statistics follow; each is
turned into robust standard scores **per class over the audited images** (median and 1.4826
x MAD, with a floor for differences too small to matter), so a few faulty labels do not
move the scale. A pair's score is its largest standard score; a pair is flagged at
``flag_at`` (default 6). The statistics and the fault each points to:

===================  =================================================  ============
statistic            measured as                                        points to
===================  =================================================  ============
``disagreement``     1 - soft Dice of label and OOF probabilities near   any (the kind
                     the label, smoothed by 5 % of the class's median   comes from the
                     area; an empty label against the OOF's p >= 0.5    others)
                     pixels
``cross``            best soft Dice of the label with *another* class's  ``swap``
                     probabilities minus that with its own (that class
                     is the partner)
``unsupported``      share of the label in pieces where the OOF mean     ``extra``
                     probability is below 0.25
``offset``           label centroid minus OOF centroid (2-D, px)         ``shift``
``area_ratio``       log(label area / OOF probability mass)              ``boundary``
``label_area``       log of the label's area relative to the image's     ``boundary``
                     scale (anatomy prior)
``label_position``   label centroid about the hand's centre, mirror-     ``shift`` or
                     aligned (anatomy prior, 2-D)                        ``swap``
``label_pieces``     share of the label outside its largest piece        ``extra``
===================  =================================================  ============

An empty label is ``missing``: it scores at least :data:`MISSING_SCORE` where at least
half of the audited labels have the class (the detail says whether the OOF model finds the
bone), and its OOF disagreement where higher. A label whose centroid sits where another
class belongs is a ``swap`` with that class.
"""
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ext.utils.masks.boxes import bounding_box
from mmseg_ext.utils.postprocessing.box_merge import dense_mean
from mmseg_ext.utils.postprocessing.raw_views import RawViews

from .anatomy import MaskFeatures, mask_features, mirror_aligned

AUDIT_KINDS = ('swap', 'missing', 'extra', 'shift', 'boundary')
FLAG_AT = 6.0
MISSING_SCORE = 20.0
MAD_TO_SD = 1.4826
# Statistic -> (fault kind, floor of its robust scale, two-sided).
STATISTICS = {
    'disagreement': ('', 0.02, False),
    'cross': ('swap', 0.02, False),
    'unsupported': ('extra', 0.02, False),
    'offset': ('shift', 0.25, True),
    'area_ratio': ('boundary', 0.03, True),
    'label_area': ('boundary', 0.05, True),
    'label_position': ('shift', 0.01, True),
    'label_pieces': ('extra', 0.02, False),
}
OOF_STATISTICS = ('disagreement', 'cross', 'unsupported', 'offset', 'area_ratio')
UNSUPPORTED_BELOW = 0.25


def grid_shape(shape: Sequence[int], max_side: int) -> Tuple[int, int]:
    """The (h, w) audit grid of an image of ``shape``: scaled so its longer side is at most
    ``max_side`` (the image's own size when it is smaller).

    Args:
        shape (Sequence[int]): (H, W) of the image.
        max_side (int): Longest grid side.
    """
    height, width = int(shape[0]), int(shape[1])
    factor = min(1.0, max_side / max(height, width))
    return max(1, round(height * factor)), max(1, round(width * factor))


def label_grid(bits: np.ndarray, num_classes: int, grid: Tuple[int, int]) -> np.ndarray:
    """(C, h, w) bool labels on the grid: each class's full-size mask area-averaged onto
    the grid, kept where it covers at least half a cell.

    Args:
        bits (np.ndarray): (H, W) int32 bit map of the labels (bit ``c``: class ``c``).
        num_classes (int): C.
        grid (tuple[int, int]): (h, w) of the grid.
    """
    out = np.zeros((num_classes, *grid), bool)
    for c in range(num_classes):
        plane = ((bits >> c) & 1).astype(np.float32)
        if tuple(plane.shape) != tuple(grid):
            plane = cv2.resize(plane, grid[::-1], interpolation=cv2.INTER_AREA)
        out[c] = plane >= 0.5
    return out


def probability_grid(raw: RawViews, grid: Tuple[int, int]) -> np.ndarray:
    """(C, h, w) float32 OOF probabilities of ``raw``'s views merged on the grid.

    Args:
        raw (RawViews): One image's stored views.
        grid (tuple[int, int]): (h, w) of the grid.
    """
    return dense_mean([replace(raw, size=tuple(grid)).stack()], [1.0]).numpy()


def _window(mask: np.ndarray) -> Tuple[slice, slice]:
    """The label's box grown by half its size on each side (the whole grid when empty)."""
    box = bounding_box(mask)
    if box is None:
        return slice(None), slice(None)
    y0, y1, x0, x1 = bounding_box(mask, ((box[1] - box[0]) // 2 + 1, (box[3] - box[2]) // 2 + 1))
    return slice(y0, y1), slice(x0, x1)


def _centroid(weights: np.ndarray) -> np.ndarray:
    total = float(weights.sum())
    if total <= 0:
        return np.full(2, np.nan)
    ys, xs = np.indices(weights.shape)
    return np.array([(weights * xs).sum() / total, (weights * ys).sum() / total])


def _unsupported(label: np.ndarray, probs: np.ndarray) -> float:
    """Share of the label in pieces whose mean probability is below UNSUPPORTED_BELOW."""
    count, pieces = cv2.connectedComponents(label.astype(np.uint8), connectivity=8)
    sums = np.bincount(pieces.ravel(), weights=probs.ravel(), minlength=count)[1:]
    areas = np.bincount(pieces.ravel(), minlength=count)[1:]
    return float(areas[sums < UNSUPPORTED_BELOW * areas].sum() / max(areas.sum(), 1))


def oof_statistics(labels: np.ndarray, probs: np.ndarray) -> Dict[str, np.ndarray]:
    """The OOF statistics of one image (see the module docstring); the disagreement as its
    parts (:func:`disagreement` needs every image's label areas).

    Args:
        labels (np.ndarray): (C, h, w) bool labels on the grid.
        probs (np.ndarray): (C, h, w) OOF probabilities on the grid.

    Returns:
        dict: (C,) ``overlap``, ``label_mass``, ``oof_mass`` (in the label's window; for an
        empty label the pixels of the whole grid with probability >= 0.5),
        ``cross``, ``unsupported``, ``area_ratio``, (C, 2) ``offset``, and (C,) int
        ``partner`` (the class of the best other match); NaN (partner -1) where the label
        is empty.
    """
    num = labels.shape[0]
    flat_l = labels.reshape(num, -1).astype(np.float32)
    flat_p = probs.reshape(num, -1)
    inter = flat_l @ flat_p.T                      # [c, d] = sum of P_d over label c
    match = 2 * inter / (flat_l.sum(1)[:, None] + flat_p.sum(1)[None, :] + 1e-6)
    out = {name: np.full(num, np.nan) for name in ('cross', 'unsupported', 'area_ratio')}
    out.update({name: np.zeros(num) for name in ('overlap', 'label_mass', 'oof_mass')})
    out['offset'] = np.full((num, 2), np.nan)
    out['partner'] = np.full(num, -1)
    for c in range(num):
        rows, cols = _window(labels[c])
        label, prob = labels[c, rows, cols], probs[c, rows, cols]
        area, mass = float(label.sum()), float(prob.sum())
        out['overlap'][c], out['label_mass'][c], out['oof_mass'][c] = (
            float((label * prob).sum()), area, mass)
        if area == 0:  # the whole grid: count only what the OOF model calls bone
            out['oof_mass'][c] = float(np.count_nonzero(prob >= 0.5))
            continue
        others = match[c].copy()
        others[c] = -np.inf
        out['partner'][c] = int(np.argmax(others))
        out['cross'][c] = others[out['partner'][c]] - match[c, c]
        out['unsupported'][c] = _unsupported(label, prob)
        out['area_ratio'][c] = math.log((area + 1) / (mass + 1))
        out['offset'][c] = _centroid(label.astype(np.float32)) - _centroid(prob)
    return out


def disagreement(oof: Sequence[Optional[Dict[str, np.ndarray]]],
                 label_areas: np.ndarray) -> np.ndarray:
    """(N, C) 1 - soft Dice of label and OOF probabilities in the label's window, smoothed
    by 5 % of the class's median label area (an empty label and a faint prediction agree);
    NaN for images without OOF statistics.

    Args:
        oof (Sequence[dict | None]): Per image, :func:`oof_statistics` or None.
        label_areas (np.ndarray): (N, C) label areas on the grid (for the smoothing).
    """
    with _all_nan_quiet():
        median = np.nanmedian(np.where(label_areas > 0, label_areas, np.nan), axis=0)
    smoothing = np.maximum(0.05 * np.nan_to_num(median), 1.0)
    out = np.full(label_areas.shape, np.nan)
    for i, stats in enumerate(oof):
        if stats is not None:
            out[i] = 1 - (2 * stats['overlap'] + smoothing) / (
                stats['label_mass'] + stats['oof_mass'] + smoothing)
    return out


def _pieces_share(features: MaskFeatures) -> np.ndarray:
    out = np.full(len(features.areas), np.nan)
    for c, comps in enumerate(features.components):
        if comps:
            areas = [a for a, *_ in comps]
            out[c] = 1 - max(areas) / sum(areas)
    return out


def label_statistics(features: Sequence[MaskFeatures]) -> Dict[str, np.ndarray]:
    """The anatomy statistics of the labels of all audited images, measured against each
    other (the priors are the labels' own medians).

    Args:
        features (Sequence[MaskFeatures]): The labels' features, one per image.

    Returns:
        dict: (N, C) ``label_area``, ``label_pieces``, (N, C, 2) ``label_position``,
        (C, 2) ``expected_position`` (the classes' median aligned positions) and (C,)
        ``class_log_area`` (log of each class's median area); NaN where a label is empty.
    """
    areas = np.stack([f.areas for f in features]).astype(np.float64)
    with _all_nan_quiet():
        class_area = np.nan_to_num(np.nanmedian(np.where(areas > 0, areas, np.nan), axis=0))
    scales = [f.scale(class_area) for f in features]
    relative = np.stack([f.relative_areas(class_area, s) for f, s in zip(features, scales)])
    with np.errstate(divide='ignore'):
        label_area = np.where(areas > 0, np.log(np.maximum(relative, 1e-9)), np.nan)
    positions = [f.normalised_positions(s) for f, s in zip(features, scales)]
    reference = positions[0]
    for _ in range(3):  # align mirror images to the running median
        aligned = np.stack([mirror_aligned(p, reference) for p in positions])
        with _all_nan_quiet():
            reference = np.nan_to_num(np.nanmedian(aligned, axis=0))
    return dict(label_area=label_area, label_position=aligned, expected_position=reference,
                label_pieces=np.stack([_pieces_share(f) for f in features]),
                class_log_area=np.log(np.maximum(class_area, 1e-9)))


def normal_equivalent(z: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Scores of new values against ``samples`` measured values as normal-distribution
    scores with the same tail probability: Student's t with ``samples - 1`` degrees of
    freedom, widened by sqrt(1 + 1/samples) (a median and spread from few images judge
    less); NaN with fewer than 3 samples.

    Args:
        z (np.ndarray): Signed standard scores.
        samples (np.ndarray): How many values each score's median and spread came from
            (broadcast against ``z``).
    """
    from scipy.special import betaln, ndtri_exp
    from scipy.stats import t
    samples = np.broadcast_to(samples, z.shape).astype(float)
    usable = samples >= 3
    dof = np.where(usable, samples - 1, 2.0)
    x = np.abs(z) / np.sqrt(1 + 1 / np.maximum(samples, 1))
    with np.errstate(divide='ignore', invalid='ignore'):
        log_tail = t.logsf(x, dof)
        # scipy underflows far out in the tail: the leading term of the incomplete beta
        w = dof / (dof + x * x)
        far = 0.5 * dof * np.log(w) + 0.5 * np.log1p(-w) - np.log(0.5 * dof) \
            - betaln(0.5 * dof, 0.5) + np.log(0.5)
    log_tail = np.where(np.isfinite(log_tail), log_tail, far)
    out = np.sign(z) * -ndtri_exp(log_tail)
    return np.where(usable, out, np.nan)


def centre_and_scale(values: np.ndarray, floor: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per class (and axis), the median of ``values`` over the images and 1.4826 x their
    MAD, at least ``floor`` (``floor`` where nothing was measured).

    Args:
        values (np.ndarray): (N, C) or (N, C, 2) values; NaN where not measured.
        floor (float): Smallest scale.
    """
    with _all_nan_quiet():
        median = np.nanmedian(values, axis=0)
        scale = np.maximum(MAD_TO_SD * np.nanmedian(np.abs(values - median), axis=0), floor)
    return median, np.nan_to_num(scale, nan=floor)


def robust_scores(values: np.ndarray, floor: float, two_sided: bool) -> np.ndarray:
    """Robust standard scores per class, in normal-equivalent units
    (:func:`normal_equivalent`): (value - class median) / max(1.4826 x class MAD,
    ``floor``); 2-D values (N, C, 2) give the score of the length of the per-axis scores
    (its chi tail with 2 degrees of freedom).

    Args:
        values (np.ndarray): (N, C) or (N, C, 2) values; NaN where not measured.
        floor (float): Smallest scale (differences smaller than this do not matter).
        two_sided (bool): Score both directions (else only above the median; below is 0).

    Returns:
        np.ndarray: (N, C) scores; NaN where not measured (or measured on fewer than 3
        images).
    """
    from scipy.special import ndtri_exp
    median, scale = centre_and_scale(values, floor)
    samples = np.sum(~np.isnan(values), axis=0)
    z = normal_equivalent((values - median) / scale, samples)
    if values.ndim == 3:
        length = np.maximum(-ndtri_exp(-0.5 * (z[..., 0] ** 2 + z[..., 1] ** 2)), 0.0)
        return np.where(np.isnan(z).any(axis=-1), np.nan, length)
    return np.abs(z) if two_sided else np.where(np.isnan(z), np.nan, np.maximum(z, 0))


@contextmanager
def _all_nan_quiet():
    """Silence numpy's warnings for classes with no measured value (all NaN)."""
    with warnings.catch_warnings(), np.errstate(invalid='ignore', divide='ignore'):
        warnings.simplefilter('ignore', RuntimeWarning)
        yield


@dataclass
class ImageMeasures:
    """What the audit measured on one image.

    Args:
        key (str): The image key (``IDxxx/<stem>``).
        name (str): The image file's base name.
        features (MaskFeatures): The label's anatomy features on the grid.
        oof (dict, optional): :func:`oof_statistics`; None without an OOF file.
    """
    key: str
    name: str
    features: MaskFeatures
    oof: Optional[Dict[str, np.ndarray]] = None


@dataclass
class AuditResult:
    """Scores, kinds and partners of every audited (image, class) pair.

    Args:
        keys (list[str]): Image keys, in the order of the rows.
        names (list[str]): Image file base names.
        classes (list[str]): Class names.
        scores (np.ndarray): (N, C) suspicion scores (higher: more suspicious).
        kinds (list[list[str]]): Per image and class, the fault kind ('' unless flagged).
        partners (list[list[str]]): Per image and class, the other bone of a swap ('').
        details (list[list[str]]): Per image and class, what was measured.
        with_oof (list[bool]): Whether each image had an OOF file.
        flag_at (float): The score from which a pair is flagged.
    """
    keys: List[str]
    names: List[str]
    classes: List[str]
    scores: np.ndarray
    kinds: List[List[str]]
    partners: List[List[str]]
    details: List[List[str]]
    with_oof: List[bool]
    flag_at: float = FLAG_AT

    @property
    def image_scores(self) -> np.ndarray:
        """(N,) each image's highest pair score."""
        return np.nan_to_num(self.scores, nan=0.0).max(axis=1)

    def ranking(self) -> List[int]:
        """Image indices, most suspicious first (ties in key order)."""
        scores = self.image_scores
        return sorted(range(len(self.keys)), key=lambda i: (-scores[i], self.keys[i]))

    def flagged(self, i: int) -> List[int]:
        """Class indices of image ``i``'s flagged pairs, highest score first.

        Args:
            i (int): Image index.
        """
        return sorted((c for c in range(len(self.classes)) if self.kinds[i][c]),
                      key=lambda c: -self.scores[i, c])


def _kind_scores(statistics: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Per statistic, its (N, C) robust scores; ``cross`` counts only where the label
    matches another bone's prediction better than its own (else the disagreement says it)."""
    scores = {name: robust_scores(values, *STATISTICS[name][1:])
              for name, values in statistics.items()}
    scores['cross'] = np.where(statistics['cross'] > 0, scores['cross'], 0.0)
    return scores


@dataclass
class _LabelNorms:
    """The labels' own centre and scale of log area and aligned place per class, and each
    class's median log area (what exchanging two labels is judged against)."""
    label_area: np.ndarray
    label_position: np.ndarray
    area: Tuple[np.ndarray, np.ndarray]
    position: Tuple[np.ndarray, np.ndarray]
    class_log_area: np.ndarray

    @classmethod
    def of(cls, statistics: Dict[str, np.ndarray]) -> '_LabelNorms':
        area, position = statistics['label_area'], statistics['label_position']
        return cls(area, position, centre_and_scale(area, STATISTICS['label_area'][1]),
                   centre_and_scale(position, STATISTICS['label_position'][1]),
                   statistics['class_log_area'])

    def exchange_partner(self, i: int, c: int) -> int:
        """The class ``d`` such that exchanging the labels of ``c`` and ``d`` in image ``i``
        fits the labels' own area and position medians at least 4 times better (squared
        robust scores), or -1."""
        (area_med, area_scale), (pos_med, pos_scale) = self.area, self.position

        def cost(source: int, target: int) -> float:
            as_target = (self.label_area[i, source] + self.class_log_area[source]
                         - self.class_log_area[target])
            area = ((as_target - area_med[target]) / area_scale[target]) ** 2
            pos = (((self.label_position[i, source] - pos_med[target])
                    / pos_scale[target]) ** 2).sum()
            return float(area + pos)

        best, best_gain = -1, 4.0
        for d in range(self.label_area.shape[1]):
            if d == c or np.isnan(self.label_area[i, d]):
                continue
            before, after = cost(c, c) + cost(d, d), cost(c, d) + cost(d, c)
            if np.isfinite(before) and after * best_gain < before:
                best, best_gain = d, before / max(after, 1e-9)
        return best


def _fault_kind(i: int, c: int, z: Dict[str, np.ndarray], flag_at: float,
                oof: Optional[Dict[str, np.ndarray]], statistics: Dict[str, np.ndarray],
                norms: _LabelNorms) -> Tuple[str, int, List[str]]:
    """The kind of a flagged non-empty label, its partner (-1) and the statistics behind it:
    a swap when the OOF says so (the label matches another bone's prediction better than
    its own), else extra pieces, else a swap when exchanging two labels
    fits the anatomy, else the larger of the shift and the boundary evidence."""
    def score(name: str) -> float:
        return float(np.nan_to_num(z[name][i, c], nan=-1.0))

    if oof is not None and score('cross') >= flag_at and statistics['cross'][i, c] > 0:
        return 'swap', int(oof['partner'][c]), ['cross']
    extra = max(('unsupported', 'label_pieces'), key=score)
    if score(extra) >= flag_at:
        return 'extra', -1, [extra]
    partner = norms.exchange_partner(i, c)
    if partner >= 0:
        return 'swap', partner, ['label_position', 'label_area']
    best = max(('offset', 'label_position', 'area_ratio', 'label_area'), key=score)
    return STATISTICS[best][0], -1, [best]


_DESCRIPTIONS = {
    'disagreement': lambda v: f'soft Dice with the OOF {1 - v:.2f}',
    'unsupported': lambda v: f'{v:.0%} of the label where the OOF sees nothing',
    'offset': lambda v: f'centroid {float(np.hypot(*v)):.1f} grid px from the OOF\'s',
    'area_ratio': lambda v: f'label area {math.exp(v):.0%} of the OOF\'s',
    'label_area': lambda v: f'label area {math.exp(v):.0%} of the usual',
    'label_pieces': lambda v: f'{v:.0%} of the label outside its main piece',
}


def _describe(name: str, value, partner: str) -> str:
    """What statistic ``name`` measured, in words."""
    if name == 'cross':
        if partner:
            return f'the label matches the OOF {partner} better than its own (by {value:.2f} Dice)'
        return f'its best match with another bone\'s OOF is {-value:.2f} Dice below its own'
    if name == 'label_position':
        return (f'label sits where {partner} usually is' if partner
                else 'label centroid out of its usual place')
    return _DESCRIPTIONS[name](value)


def _empty_label_detail(presence: float, disagreement: Optional[float]) -> str:
    text = f'empty label (the bone is in {presence:.0%} of the labels)'
    if disagreement is None:
        return text
    if disagreement < 0.5:
        return text + '; the OOF does not find it either'
    return text + f'; {_describe("disagreement", disagreement, "")}'


def score_pairs(measures: Sequence[ImageMeasures], classes: Sequence[str],
                flag_at: float = FLAG_AT, labels_only: bool = False) -> AuditResult:
    """Score, flag and name the faults of every (image, class) pair.

    Args:
        measures (Sequence[ImageMeasures]): One per audited image.
        classes (Sequence[str]): Class names, in channel order.
        flag_at (float): Score from which a pair is flagged. Defaults to :data:`FLAG_AT`.
        labels_only (bool): Use the anatomy statistics only, even where OOF files exist.
    """
    num, num_classes = len(measures), len(classes)
    statistics = label_statistics([m.features for m in measures])
    norms = _LabelNorms.of(statistics)
    for name in ('expected_position', 'class_log_area'):
        statistics.pop(name)
    has_oof = [m.oof is not None and not labels_only for m in measures]
    areas = np.stack([m.features.areas for m in measures])
    statistics['disagreement'] = disagreement([m.oof if h else None
                                               for m, h in zip(measures, has_oof)], areas)
    for name in OOF_STATISTICS[1:]:
        shape = (num, num_classes, 2) if name == 'offset' else (num, num_classes)
        values = np.full(shape, np.nan)
        for i, m in enumerate(measures):
            if has_oof[i]:
                values[i] = m.oof[name]
        statistics[name] = values
    z = _kind_scores(statistics)
    names = list(z)
    stacked = np.stack([z[n] for n in names])                     # (S, N, C)
    presence = (areas > 0).mean(axis=0)
    scores = np.nan_to_num(stacked, nan=0.0).max(axis=0)
    missing_label = (areas == 0) & (presence >= 0.5)[None] & (num >= 3)
    scores = np.where(missing_label, np.maximum(scores, MISSING_SCORE), scores)
    kinds = [[''] * num_classes for _ in range(num)]
    partners = [[''] * num_classes for _ in range(num)]
    details = [[''] * num_classes for _ in range(num)]
    for i, m in enumerate(measures):
        for c in range(num_classes):
            top = names[int(np.argmax(np.nan_to_num(stacked[:, i, c], nan=-1.0)))]
            if areas[i, c] == 0:
                if scores[i, c] > 0:
                    details[i][c] = _empty_label_detail(
                        presence[c], statistics['disagreement'][i, c] if has_oof[i] else None)
                if scores[i, c] >= flag_at:
                    kinds[i][c] = 'missing'
                continue
            if scores[i, c] < flag_at:
                details[i][c] = _describe(top, statistics[top][i, c], '')
                continue
            kind, partner, behind = _fault_kind(i, c, z, flag_at, m.oof if has_oof[i] else None,
                                                statistics, norms)
            partner_name = classes[partner] if partner >= 0 else ''
            kinds[i][c], partners[i][c] = kind, partner_name
            details[i][c] = '; '.join(dict.fromkeys(
                _describe(n, statistics[n][i, c], partner_name) for n in [top, *behind]))
    return AuditResult([m.key for m in measures], [m.name for m in measures], list(classes),
                       scores, kinds, partners, details, has_oof, flag_at)


@dataclass
class AuditInput:
    """One image to audit.

    Args:
        key (str): The image key (``IDxxx/<stem>``).
        name (str): The image file's base name.
        image_path (str): The image file.
        json_path (str): Its annotation file.
        shape (tuple[int, int]): (H, W) of the image.
        oof_path (str, optional): Its OOF file; None when no OOF covers it.
    """
    key: str
    name: str
    image_path: str
    json_path: str
    shape: Tuple[int, int]
    oof_path: Optional[str] = None


class AuditError(ValueError):
    """Input the audit cannot use; the message names it and what fixes it."""


def audit_inputs(data_root: str, work_dir: Optional[str] = None,
                 classes: Optional[Sequence[str]] = None) -> Tuple[List[AuditInput], List[str]]:
    """The labelled images of ``data_root``, each with its OOF file from ``work_dir``'s
    folds where it has one; checked before any work.

    Args:
        data_root (str): ``DIR`` with ``DCM/`` and ``outputs_json/``.
        work_dir (str, optional): A ``tools/kfold.py`` work dir; None: labels only.
        classes (Sequence[str], optional): The labels' classes, checked against the OOF
            files' (in order).

    Returns:
        tuple: The inputs in sorted key order, and the keys of labelled images that no OOF
        file covers (audited with the anatomy statistics only).

    Raises:
        AuditError: A data root without labelled images, a work dir without OOF files
            (names ``tools/kfold.py``), OOF images that the data root does not hold.
    """
    import os.path as osp

    from .oof_run import OofRunError, load_oof_run
    from .submission_eval import EvaluationError, labelled_images
    try:
        labelled = labelled_images(data_root)
    except EvaluationError as err:
        raise AuditError(str(err) if work_dir is None else
                         f'{err} (--data-root must be the training data the folds were '
                         'trained on)') from err
    by_key = {}
    for name, image in labelled.items():
        key = osp.splitext(osp.relpath(image.image_path, osp.join(data_root, 'DCM')))[0]
        by_key[key] = AuditInput(key, name, image.image_path, image.json_path, tuple(image.shape))
    if work_dir is None:
        return [by_key[k] for k in sorted(by_key)], []
    try:
        run = load_oof_run(work_dir)
    except OofRunError as err:
        raise AuditError(f'{err} (or audit the labels alone with --labels-only)') from err
    if classes is not None and list(run.classes) != list(classes):
        raise AuditError(f'{work_dir}: its out-of-fold files predict the classes '
                         f'{run.classes}, not the labels\' {list(classes)} in this order; '
                         'audit a work dir trained on these classes (or use --labels-only)')
    strangers = [k for k in run.keys if k not in by_key]
    if strangers:
        raise AuditError(
            f'{len(strangers)} of the {len(run.keys)} images of the out-of-fold predictions '
            f'in {work_dir} have no image and label under {data_root} (e.g. {strangers[0]}); '
            'pass the --data-root the folds were trained on')
    for key in run.keys:
        by_key[key].oof_path = run.path(key)
    uncovered = sorted(k for k in by_key if by_key[k].oof_path is None)
    return [by_key[k] for k in sorted(by_key)], uncovered


def measure_image(item: AuditInput, classes: Sequence[str], max_side: int = 512,
                  labels_only: bool = False) -> ImageMeasures:
    """Measure one image's labels (and its OOF prediction) on its audit grid.

    Args:
        item (AuditInput): The image.
        classes (Sequence[str]): Class names (the labels' bit order).
        max_side (int): Longest side of the audit grid. Defaults to 512.
        labels_only (bool): Do not read the OOF file.

    Raises:
        AuditError: An OOF file of other classes or another image size (named).
    """
    labels, probs = audit_planes(item, classes, max_side, labels_only)
    features = mask_features(labels, max_side=max(labels.shape[1:]))
    oof = None if probs is None else oof_statistics(labels, probs)
    return ImageMeasures(item.key, item.name, features, oof)


def audit_planes(item: AuditInput, classes: Sequence[str], max_side: int = 512,
                 labels_only: bool = False) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(C, h, w) bool labels and (C, h, w) OOF probabilities (None without an OOF file) of
    one image on its audit grid.

    Args:
        item (AuditInput): The image.
        classes (Sequence[str]): Class names (the labels' bit order).
        max_side (int): Longest side of the audit grid. Defaults to 512.
        labels_only (bool): Do not read the OOF file.

    Raises:
        AuditError: An OOF file of other classes or another image size (named).
    """
    from mmseg_ext.utils.formats.oof_file import read_oof_file

    from .submission_eval import LabelledImage, ground_truth_bits
    grid = grid_shape(item.shape, max_side)
    bits = ground_truth_bits(LabelledImage(item.image_path, item.json_path, item.shape),
                             len(classes))
    labels = label_grid(bits, len(classes), grid)
    if item.oof_path is None or labels_only:
        return labels, None
    record = read_oof_file(item.oof_path)
    if list(record.classes) != list(classes):
        raise AuditError(f'{item.oof_path}: predicts {len(record.classes)} classes '
                         f'({record.classes[:2]}...), the labels have {len(classes)}')
    if tuple(record.raw.size) != tuple(item.shape):
        raise AuditError(f'{item.oof_path}: made for a {record.raw.size} image, but '
                         f'{item.image_path} is {item.shape}; wrong --data-root?')
    return labels, probability_grid(record.raw, grid)


def audit_labels(items: Sequence[AuditInput], classes: Sequence[str], max_side: int = 512,
                 flag_at: float = FLAG_AT, labels_only: bool = False,
                 progress: bool = True) -> AuditResult:
    """Measure every image, then score, flag and name every (image, class) pair.

    Args:
        items (Sequence[AuditInput]): The images (:func:`audit_inputs`).
        classes (Sequence[str]): Class names.
        max_side (int): Longest side of the audit grid. Defaults to 512.
        flag_at (float): Score from which a pair is flagged. Defaults to :data:`FLAG_AT`.
        labels_only (bool): Anatomy statistics only (no OOF file is read).
        progress (bool): Show a progress bar with an ETA.
    """
    from mmseg_ext.utils.runtime.progress import track
    loop = track(items, what='images audited') if progress else items
    measures = [measure_image(item, classes, max_side, labels_only) for item in loop]
    return score_pairs(measures, classes, flag_at, labels_only)
