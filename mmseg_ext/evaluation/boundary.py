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
converted. Torch tensors on a GPU have their boxes found on the device and
only the crops copied to the host.
"""
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

Plane = Union[np.ndarray, torch.Tensor]
Box = Tuple[int, int, int, int]  # (y0, y1, x0, x1), ends exclusive
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


def mask_box(plane: Plane) -> Optional[Box]:
    """(y0, y1, x0, x1) of an (H, W) mask's foreground, or None when it is empty."""
    if isinstance(plane, torch.Tensor) and plane.device.type != 'cpu':
        rows = torch.nonzero(plane.any(dim=1)).flatten()
        if not rows.numel():
            return None
        cols = torch.nonzero(plane.any(dim=0)).flatten()
        y0, y1, x0, x1 = torch.stack([rows[0], rows[-1], cols[0], cols[-1]]).tolist()
        return y0, y1 + 1, x0, x1 + 1
    plane = _as_numpy(plane)
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(plane).view(np.uint8))
    if w == 0:
        return None
    return y, y + h, x, x + w


def _as_numpy(plane: Plane) -> np.ndarray:
    if isinstance(plane, torch.Tensor):
        plane = plane.detach().cpu().numpy()
    plane = np.asarray(plane)
    return plane if plane.dtype == bool else plane != 0


def _padded_crop(plane: Plane, box: Box) -> np.ndarray:
    """The box of ``plane`` as uint8 0/1 with one background pixel around it."""
    y0, y1, x0, x1 = box
    crop = _as_numpy(plane[y0:y1, x0:x1])
    out = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)
    out[1:-1, 1:-1] = crop
    return out


def mask_edges(padded: np.ndarray) -> np.ndarray:
    """Edge pixels (mask minus its 4-connected erosion) of a uint8 0/1 mask whose
    outermost ring is background, as a bool array."""
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


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def _pair_metrics(pred: Plane, gt: Plane, box: Box, tolerance: float,
                  spacing: Tuple[float, float]) -> Tuple[float, float, float, float]:
    """(hd, hd95, assd, nsd) of two non-empty masks measured on ``box``."""
    pred_edges = mask_edges(_padded_crop(pred, box))
    gt_edges = mask_edges(_padded_crop(gt, box))
    pred_to_gt = _distances_to(gt_edges, pred_edges, spacing)
    gt_to_pred = _distances_to(pred_edges, gt_edges, spacing)
    hd = max(pred_to_gt.max(), gt_to_pred.max())
    hd95 = max(np.quantile(pred_to_gt, 0.95), np.quantile(gt_to_pred, 0.95))
    total = pred_to_gt.size + gt_to_pred.size
    assd = (pred_to_gt.sum() + gt_to_pred.sum()) / total
    within = np.count_nonzero(pred_to_gt <= tolerance) + np.count_nonzero(gt_to_pred <= tolerance)
    return float(hd), float(hd95), float(assd), within / total


def _check_shapes(pred_shape: Sequence[int], gt_shape: Sequence[int]) -> None:
    if tuple(pred_shape) != tuple(gt_shape) or len(pred_shape) != 3:
        raise ValueError(f'boundary metrics need (C, H, W) prediction and ground truth of one '
                         f'shape, got {tuple(pred_shape)} and {tuple(gt_shape)}')


def boundary_metrics_planes(pred_planes: Iterable[Plane], gt_planes: Iterable[Plane],
                            shape: Tuple[int, int], nsd_tolerance: float = 2.0,
                            spacing: Spacing = None) -> BoundaryResult:
    """:func:`boundary_metrics` over one (H, W) plane per class at a time.

    ``gt_planes`` may be a generator (e.g. planes unpacked one by one from a
    bit map), so no (C, H, W) ground truth need exist.

    Args:
        pred_planes (Iterable): (H, W) bool predicted masks, one per class.
        gt_planes (Iterable): (H, W) bool true masks, one per class.
        shape (tuple): (H, W) of the image (for the diagonal).
        nsd_tolerance (float): NSD tolerance, in spacing units.
        spacing: Pixel spacing, a scalar or (row, column); None is 1 pixel.

    Returns:
        BoundaryResult: The metrics and which masks were present.
    """
    row, col = parse_spacing(spacing)
    if not np.isfinite(nsd_tolerance) or nsd_tolerance < 0:
        raise ValueError(f'nsd_tolerance must be a finite number >= 0, got {nsd_tolerance!r}')
    diagonal = float(np.hypot(shape[0] * row, shape[1] * col))
    rows, pred_present, gt_present = [], [], []
    for pred, gt in zip(pred_planes, gt_planes):
        pred_box, gt_box = mask_box(pred), mask_box(gt)
        pred_present.append(pred_box is not None)
        gt_present.append(gt_box is not None)
        if pred_box is None and gt_box is None:
            rows.append((np.nan, ) * 4)
        elif pred_box is None or gt_box is None:
            rows.append((diagonal, diagonal, diagonal, 0.0))
        else:
            rows.append(_pair_metrics(pred, gt, _union(pred_box, gt_box), nsd_tolerance,
                                      (row, col)))
    values = np.asarray(rows, np.float64).reshape(-1, 4)
    metrics = {key: values[:, i].copy() for i, key in enumerate(BOUNDARY_KEYS)}
    return BoundaryResult(metrics, np.asarray(pred_present, bool), np.asarray(gt_present, bool))


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
    _check_shapes(pred.shape, gt.shape)
    return boundary_metrics_planes(pred, gt, tuple(pred.shape[1:]), nsd_tolerance,
                                   spacing).metrics
