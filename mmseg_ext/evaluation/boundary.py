"""Boundary distances between a predicted and a true mask, class by class.

Definitions (MONAI's, in pixels unless a spacing is given):

- The *edge* of a mask is the mask minus its erosion by the 4-connected
  cross; the image outside the mask counts as background, so mask pixels on
  the image border are edge pixels.
- Distances are exact Euclidean distances between edge pixel centres: for
  every edge pixel of one mask, the distance to the nearest edge pixel of the
  other.
- ``hd``: the larger of the two directed maxima. ``hd95``: the larger of the
  two directed 95th percentiles (linear interpolation, as ``torch.quantile``;
  not the percentile of the pooled distances). ``assd``: the mean of both
  directions' distances pooled. ``nsd``: the normalised surface Dice at a
  tolerance ``tau``: (pred edge pixels within ``tau`` of the true edge + true
  edge pixels within ``tau`` of the predicted edge) / (all edge pixels of
  both), MONAI's ``use_subvoxels=False`` form.
- Misses are counted: when exactly one of the two masks is empty, ``hd``,
  ``hd95`` and ``assd`` are the image diagonal (``sqrt((H sy)² + (W sx)²)``)
  and ``nsd`` is 0 (MONAI gives inf and 0). When both are empty every metric
  is NaN (MONAI's NaN), left out of means and counted separately.

Each class is measured on the crop of the union of both masks' bounding
boxes (every edge pixel lies in it, so the distances are exact), padded by
one background pixel for the erosion; no full-size plane is copied or
converted. A packed ground truth (one integer map, a bit per class) gives
all boxes from one pass and is never unpacked. Torch tensors on a GPU have
their boxes found on the device and only the crops copied to the host.
"""
from typing import Dict, NamedTuple, Sequence, Tuple, Union

import cv2
import numpy as np

from mmseg_ext.utils.masks.boxes import Plane, box_union
from mmseg_ext.utils.masks.mask_sources import PackedMasks, PlaneMasks

Spacing = Union[None, float, Sequence[float]]

BOUNDARY_KEYS = ('hd', 'hd95', 'assd', 'nsd')
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


class BoundaryResult(NamedTuple):
    """Per-class boundary metrics of one image and which masks were present.

    Args:
        metrics (dict): ``'hd'``, ``'hd95'``, ``'assd'``, ``'nsd'`` -> (C,)
            float64 arrays.
        pred_present (np.ndarray): (C,) bool, the prediction is not empty.
        gt_present (np.ndarray): (C,) bool, the ground truth is not empty.
    """
    metrics: Dict[str, np.ndarray]
    pred_present: np.ndarray
    gt_present: np.ndarray


def parse_spacing(spacing: Spacing) -> Tuple[float, float]:
    """(row, column) pixel spacing from None (1 pixel), a scalar or a pair.

    Args:
        spacing (float | Sequence[float], optional): None (1 pixel), one value for
            both axes, or a (row, column) pair.

    Returns:
        tuple[float, float]: The (row, column) spacing.

    Raises:
        ValueError: Not one or two positive finite numbers.
    """
    if spacing is None:
        return 1.0, 1.0
    values = np.atleast_1d(np.asarray(spacing, dtype=np.float64))
    if values.ndim != 1 or values.size not in (1, 2) or not np.isfinite(values).all() \
            or (values <= 0).any():
        raise ValueError(f'spacing must be a positive number or a (row, column) pair, '
                         f'got {spacing!r}')
    return float(values[0]), float(values[-1])


def mask_edges(padded: np.ndarray) -> np.ndarray:
    """Edge pixels (mask minus its 4-connected erosion) of a uint8 0/1 mask whose
    outermost ring is background, as a bool array.

    Args:
        padded (np.ndarray): (h, w) uint8 0/1 mask with a background border, as
            ``padded_crop`` of :class:`PlaneMasks` / :class:`PackedMasks` gives it.

    Returns:
        np.ndarray: (h, w) bool, True on the edge pixels.
    """
    eroded = cv2.erode(padded, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (padded > eroded)


def _distances_to(edges: np.ndarray, sample_at: np.ndarray,
                  spacing: Tuple[float, float]) -> np.ndarray:
    """Exact Euclidean distance from each ``sample_at`` pixel to the nearest
    ``edges`` pixel (float64, in spacing units)."""
    background = (~edges).view(np.uint8)
    if spacing[0] == spacing[1]:
        field = cv2.distanceTransform(background, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        return field[sample_at].astype(np.float64) * spacing[0]
    from scipy.ndimage import distance_transform_edt
    return distance_transform_edt(background, sampling=spacing)[sample_at]


def _pair_metrics(pred_edges: np.ndarray, gt_edges: np.ndarray, tolerance: float,
                  spacing: Tuple[float, float]) -> Tuple[float, float, float, float]:
    """(hd, hd95, assd, nsd) of two non-empty edge sets on one crop."""
    pred_to_gt = _distances_to(gt_edges, pred_edges, spacing)
    gt_to_pred = _distances_to(pred_edges, gt_edges, spacing)
    hd = max(pred_to_gt.max(), gt_to_pred.max())
    hd95 = max(np.quantile(pred_to_gt, 0.95), np.quantile(gt_to_pred, 0.95))
    total = pred_to_gt.size + gt_to_pred.size
    assd = (pred_to_gt.sum() + gt_to_pred.sum()) / total
    within = np.count_nonzero(pred_to_gt <= tolerance) + np.count_nonzero(gt_to_pred <= tolerance)
    return float(hd), float(hd95), float(assd), within / total


def _measure(pred, gt, num_classes: int, shape: Tuple[int, int], nsd_tolerance: float,
             spacing: Spacing) -> BoundaryResult:
    """Class by class over two mask sources (:class:`PlaneMasks`, :class:`PackedMasks`)."""
    row, col = parse_spacing(spacing)
    if not np.isfinite(nsd_tolerance) or nsd_tolerance < 0:
        raise ValueError(f'nsd_tolerance must be a finite number >= 0, got {nsd_tolerance!r}')
    diagonal = float(np.hypot(shape[0] * row, shape[1] * col))
    values = np.empty((num_classes, 4), np.float64)
    pred_present = np.zeros(num_classes, bool)
    gt_present = np.zeros(num_classes, bool)
    for c in range(num_classes):
        pred_box, gt_box = pred.box(c), gt.box(c)
        pred_present[c], gt_present[c] = pred_box is not None, gt_box is not None
        if pred_box is None and gt_box is None:
            values[c] = np.nan
        elif pred_box is None or gt_box is None:
            values[c] = (diagonal, diagonal, diagonal, 0.0)
        else:
            box = box_union((pred_box, gt_box))
            values[c] = _pair_metrics(mask_edges(pred.padded_crop(c, box)),
                                      mask_edges(gt.padded_crop(c, box)), nsd_tolerance,
                                      (row, col))
    metrics = {key: values[:, i].copy() for i, key in enumerate(BOUNDARY_KEYS)}
    return BoundaryResult(metrics, pred_present, gt_present)


def _check_shapes(pred_shape: Sequence[int], gt_shape: Sequence[int]) -> None:
    if tuple(pred_shape) != tuple(gt_shape) or len(pred_shape) != 3:
        raise ValueError(f'boundary metrics need (C, H, W) prediction and ground truth of one '
                         f'shape, got {tuple(pred_shape)} and {tuple(gt_shape)}')


def boundary_result(pred: Plane, gt: Plane, nsd_tolerance: float = 2.0,
                    spacing: Spacing = None) -> BoundaryResult:
    """:func:`boundary_metrics` with which masks were present (for miss counts).

    Args:
        pred (np.ndarray | Tensor): (C, H, W) bool predicted masks.
        gt (np.ndarray | Tensor): (C, H, W) bool true masks.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column); None: 1 pixel.

    Returns:
        BoundaryResult: The (C,) metrics and which masks were present.

    Raises:
        ValueError: Shapes that differ or are not (C, H, W); a bad spacing or
            tolerance.
    """
    _check_shapes(pred.shape, gt.shape)
    return _measure(PlaneMasks(pred), PlaneMasks(gt), pred.shape[0], tuple(pred.shape[1:]),
                    nsd_tolerance, spacing)


def boundary_result_packed(pred: Union[Plane, PlaneMasks], bits: Union[Plane, PackedMasks],
                           nsd_tolerance: float = 2.0, spacing: Spacing = None
                           ) -> BoundaryResult:
    """:func:`boundary_result` against a packed (H, W) integer ground truth in which
    bit ``c`` is class ``c`` (the dataset's map), without unpacking it. Either
    argument may be a ready :class:`PlaneMasks` / :class:`PackedMasks` (their
    boxes are then shared with other counts).

    Args:
        pred (np.ndarray | Tensor | PlaneMasks): (C, H, W) bool predicted masks.
        bits (np.ndarray | Tensor | PackedMasks): (H, W) integer ground truth in
            which bit ``c`` is class ``c``.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column); None: 1 pixel.

    Returns:
        BoundaryResult: The (C,) metrics and which masks were present.

    Raises:
        ValueError: ``bits`` not an (H, W) integer map of the prediction's size;
            a bad spacing or tolerance.
    """
    pred = pred if isinstance(pred, PlaneMasks) else PlaneMasks(pred)
    gt = bits if isinstance(bits, PackedMasks) else PackedMasks(bits)
    shape = tuple(pred.masks.shape)
    if len(shape) != 3 or gt.bits.shape != shape[1:]:
        raise ValueError(f'boundary metrics need a (C, H, W) prediction and an (H, W) bit map '
                         f'of its size, got {shape} and {gt.bits.shape}')
    return _measure(pred, gt, shape[0], shape[1:], nsd_tolerance, spacing)


def boundary_metrics(pred: Plane, gt: Plane, nsd_tolerance: float = 2.0,
                     spacing: Spacing = None) -> Dict[str, np.ndarray]:
    """Hausdorff distance, its 95th percentile, ASSD and NSD per class.

    Definitions are MONAI's (see the module docstring). Misses are counted:
    exactly one of a class's masks empty gives ``hd = hd95 = assd =`` the
    image diagonal and ``nsd = 0``; both empty gives NaN for every metric
    (leave it out of means and count it).

    Args:
        pred (np.ndarray | Tensor): (C, H, W) bool predicted masks.
        gt (np.ndarray | Tensor): (C, H, W) bool true masks.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column): distances come out in its unit (e.g. mm).

    Returns:
        dict: ``'hd'``, ``'hd95'``, ``'assd'``, ``'nsd'`` -> (C,) float64 arrays.

    Raises:
        ValueError: Shapes that differ or are not (C, H, W); a bad spacing or
            tolerance.
    """
    return boundary_result(pred, gt, nsd_tolerance, spacing).metrics
