"""Weighted means of upsampled probabilities, thresholded only where they can pass.

A model's views of an image (TTA scales, flips, rotations) and the members of
an ensemble are merged from their small test-size logits. A weighted mean of
non-negative terms is at most its largest term, so a class can pass the
threshold ``t`` only where at least one term does, and a bilinear term passes
only next to a source cell whose logit is (nearly) above ``logit(t)``. Each
class is therefore computed on the union, over the terms, of the boxes of
those cells (mapped to the original size through each term's own sampling
coordinates, plus the bilinear footprint); everywhere else the mask is 0.

Inside that box every term is resampled with the source coordinates that
full-size ``F.interpolate(size=...)`` uses (``(dst + 0.5) * in / out - 0.5``,
clamped at 0, for ``align_corners=False``; ``dst * (in - 1) / (out - 1)``
otherwise), so the masks are those of the full-size computation except
where a probability lies within float rounding (~1e-7) of the threshold.
"""
import contextlib
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from mmseg_ext.utils.masks.boxes import Box, box_union
from mmseg_ext.utils.masks.mask_buffers import MASK_BUFFERS

from .original_size import add_upsampled, add_votes

SPACES = ('prob', 'logit', 'vote')
# A source cell within this (in logits) of the threshold's logit opens a box: a convex
# combination of values below logit(t) - LOGIT_MARGIN cannot round above logit(t).
LOGIT_MARGIN = 1e-3
Weight = Union[float, Tensor]


class BilinearAxis:
    """Source indices and weights of bilinear resampling along one axis.

    Reproduces PyTorch's ``upsample_bilinear2d`` coordinates for an output
    size (not a scale factor): the scale is ``in / out`` in float32 and the
    source coordinate is rounded once (as a fused multiply-add).

    Args:
        in_size (int): Source length.
        out_size (int): Output length.
        align_corners (bool): As for ``F.interpolate``.
        device (torch.device): Where the index and weight vectors live.
    """

    def __init__(self, in_size: int, out_size: int, align_corners: bool,
                 device: torch.device) -> None:
        dst = torch.arange(out_size, dtype=torch.float64)
        if align_corners:
            scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
            scale = float(np.float32(scale))
            src = (dst * scale).float()
        else:
            scale = float(np.float32(in_size) / np.float32(out_size))
            src = ((dst + 0.5) * scale - 0.5).float().clamp_(min=0)
        low = src.floor().long().clamp_(max=in_size - 1)
        frac = src - low
        high = (low + 1).clamp_(max=in_size - 1)
        self.low_host, self.high_host = low.numpy(), high.numpy()
        self.low, self.high = low.to(device), high.to(device)
        self.w_low, self.w_high = (1 - frac).to(device), frac.to(device)

    def span(self, first: int, last: int) -> Tuple[int, int]:
        """Output range [start, stop) whose footprint touches source cells first..last.

        Args:
            first (int): First source cell (inclusive).
            last (int): Last source cell (inclusive).

        Returns:
            tuple[int, int]: ``(start, stop)`` output indices, ``stop`` exclusive.
        """
        start = int(np.searchsorted(self.high_host, first, side='left'))
        stop = int(np.searchsorted(self.low_host, last, side='right'))
        return start, stop


_AXES: Dict[tuple, BilinearAxis] = {}


def bilinear_axis(in_size: int, out_size: int, align_corners: bool,
                  device: torch.device) -> BilinearAxis:
    """The cached :class:`BilinearAxis` (reused across classes, views and images).

    Args:
        in_size (int): Source length.
        out_size (int): Output length.
        align_corners (bool): As for ``F.interpolate``.
        device (torch.device): Where the index and weight vectors live.

    Returns:
        BilinearAxis: The axis for these arguments (built on first use).
    """
    key = (int(in_size), int(out_size), bool(align_corners), str(device))
    if key not in _AXES:
        if len(_AXES) > 64:
            _AXES.clear()
        _AXES[key] = BilinearAxis(in_size, out_size, align_corners, device)
    return _AXES[key]


def resize_box(plane: Tensor, rows: BilinearAxis, cols: BilinearAxis, box: Box) -> Tensor:
    """Output pixels ``box`` = (y0, y1, x0, x1) of bilinearly resizing (h, w) ``plane``.

    Args:
        plane (Tensor): (h, w) float source plane (one class of a view); not modified.
        rows (BilinearAxis): Sampling of its rows onto the output height.
        cols (BilinearAxis): Sampling of its columns onto the output width.
        box (tuple): (y0, y1, x0, x1) in output pixels, ends exclusive.

    Returns:
        Tensor: (y1 - y0, x1 - x0) resampled values, on ``plane``'s device.
    """
    y0, y1, x0, x1 = box
    r0, r1 = int(rows.low_host[y0]), int(rows.high_host[y1 - 1]) + 1
    crop = plane[r0:r1]  # the source rows the box reads
    # along each source row first, then between rows (the order of torch's kernel)
    across = crop.index_select(1, cols.low[x0:x1]).mul_(cols.w_low[x0:x1])
    across.addcmul_(crop.index_select(1, cols.high[x0:x1]), cols.w_high[x0:x1])
    out = across.index_select(0, rows.low[y0:y1] - r0).mul_(rows.w_low[y0:y1, None])
    return out.addcmul_(across.index_select(0, rows.high[y0:y1] - r0), rows.w_high[y0:y1, None])


def cell_boxes(positive: Tensor) -> Tensor:
    """Per class of (C, h, w) bool: [top, bottom, left, right] (inclusive) on the
    device, -1s when the class has no cell.

    Args:
        positive (Tensor): (C, h, w) bool, the cells that may pass.

    Returns:
        Tensor: (C, 4) int64 boxes on ``positive``'s device.
    """
    rows_any = positive.any(dim=2).to(torch.uint8)
    cols_any = positive.any(dim=1).to(torch.uint8)
    empty = rows_any.amax(dim=1) == 0
    top = rows_any.argmax(dim=1)
    bottom = rows_any.shape[1] - 1 - rows_any.flip(1).argmax(dim=1)
    left = cols_any.argmax(dim=1)
    right = cols_any.shape[1] - 1 - cols_any.flip(1).argmax(dim=1)
    boxes = torch.stack([top, bottom, left, right], dim=1)
    return boxes.masked_fill(empty[:, None], -1)


class ViewStack:
    """One model's views of one image, merged per class on request.

    Each view is a (C, h, w) logit map with the test-time transforms already
    undone (its own h, w: scales may differ). The stack's value at a pixel
    is, per ``space``: 'prob' the mean of the views' sigmoids, 'logit' the
    sigmoid of the mean logit, 'vote' 1 where more than half of the views
    are above ``thresholds`` (else 0).

    Args:
        size (Sequence[int]): (H, W) original size.
        space (str): 'prob', 'logit' or 'vote'. Defaults to 'prob'.
        align_corners (bool): As used by the model. Defaults to False.
        thresholds (Tensor, optional): (C, 1, 1) probability thresholds of the
            votes; needed for 'vote'.
    """

    def __init__(self, size: Sequence[int], space: str = 'prob', align_corners: bool = False,
                 thresholds: Optional[Tensor] = None) -> None:
        if space not in SPACES:
            raise ValueError(f"space must be one of {SPACES}, got {space!r}")
        if space == 'vote' and thresholds is None:
            raise ValueError("space='vote' needs the vote thresholds")
        self.size = tuple(int(v) for v in size[:2])
        self.space = space
        self.align_corners = align_corners
        self.vote_thresholds = thresholds
        self.views: List[Tensor] = []

    def add(self, logits: Tensor) -> 'ViewStack':
        """Append one view's (C, h, w) logits (kept as float32).

        Args:
            logits (Tensor): (C, h, w) logits, test-time transforms already undone.

        Returns:
            ViewStack: This stack, for chaining.
        """
        self.views.append(logits.float())
        return self

    @property
    def num_classes(self) -> int:
        return self.views[0].shape[0]

    @property
    def device(self) -> torch.device:
        return self.views[0].device

    def axes(self, view: Tensor) -> Tuple[BilinearAxis, BilinearAxis]:
        """Row and column sampling of ``view`` onto the original size.

        Args:
            view (Tensor): (C, h, w) logits of one view.

        Returns:
            tuple[BilinearAxis, BilinearAxis]: The row and the column axis.
        """
        (height, width), (out_h, out_w) = view.shape[-2:], self.size
        return (bilinear_axis(height, out_h, self.align_corners, view.device),
                bilinear_axis(width, out_w, self.align_corners, view.device))

    def cell_boxes(self, thresholds: Tensor) -> List[Tensor]:
        """Per view, (C, 4) boxes of the cells where the stack may pass ``thresholds``.

        Args:
            thresholds (Tensor): (C, 1, 1) probability thresholds of the merged
                value; a 'vote' stack uses its own vote thresholds instead.

        Returns:
            list[Tensor]: Per view, :func:`cell_boxes` ((C, 4), on the device).
        """
        if self.space == 'vote':  # a 0/1 value passes where the votes do
            thresholds = self.vote_thresholds
        cut = torch.logit(thresholds.to(self.device).reshape(-1, 1, 1)) - LOGIT_MARGIN
        return [cell_boxes(view > cut) for view in self.views]

    def output_boxes(self, cells: Sequence[Sequence[Sequence[int]]]) -> List[List[Box]]:
        """Per view and class, the original-size box that the cell boxes reach (or None).

        Args:
            cells (Sequence[Sequence[Sequence[int]]]): Per view, the C
                [top, bottom, left, right] cell boxes of :meth:`cell_boxes` as host
                lists (-1s: no cell).

        Returns:
            list[list[tuple | None]]: Per view and class, (y0, y1, x0, x1), ends
            exclusive.
        """
        out = []
        for view, boxes in zip(self.views, cells):
            rows, cols = self.axes(view)
            view_boxes = []
            for top, bottom, left, right in boxes:
                if top < 0:
                    view_boxes.append(None)
                    continue
                view_boxes.append(rows.span(top, bottom) + cols.span(left, right))
            out.append(view_boxes)
        return out

    def values(self, c: int, box: Box) -> Tensor:
        """The stack's merged value of class ``c`` on original-size ``box``.

        Args:
            c (int): Class index.
            box (tuple): (y0, y1, x0, x1) at the original size, ends exclusive.

        Returns:
            Tensor: (y1 - y0, x1 - x0) float32 value of the stack's ``space``
            (a probability, or 0/1 for 'vote').
        """
        total = None
        for view in self.views:
            rows, cols = self.axes(view)
            plane = resize_box(view[c], rows, cols, box)
            if self.space == 'prob':
                plane = plane.sigmoid_()
            elif self.space == 'vote':
                cut = torch.logit(self.vote_thresholds.reshape(-1)[c].to(plane.device))
                plane = (plane > cut).float()
            total = plane if total is None else total.add_(plane)
        if self.space == 'vote':
            return (total * 2 > len(self.views)).float()
        total = total.div_(len(self.views))
        return total.sigmoid_() if self.space == 'logit' else total

    def add_dense(self, total: Optional[Tensor] = None, weight: Weight = 1.0) -> Tensor:
        """Add ``weight`` x the stack's value at the full original size into ``total``.

        The full-plane path (a dense CRF needs every probability): views of a 'prob'
        stack are added with ``weight / num_views`` each
        (:func:`~mmseg_ext.utils.postprocessing.original_size.add_upsampled`).

        Args:
            total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
            weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.

        Returns:
            Tensor: ``total``, updated in place (a new (C, H, W) tensor when None).
        """
        count = len(self.views)
        if self.space == 'prob':
            share = weight.float() / count if torch.is_tensor(weight) else weight / count
            for view in self.views:
                total = add_upsampled(total, view, self.size, share, self.align_corners)
            return total
        value = None
        for view in self.views:
            if self.space == 'vote':
                value = add_votes(value, view, self.size, self.vote_thresholds, 1.0,
                                  self.align_corners)
            else:
                value = add_upsampled(value, view, self.size, 1.0, self.align_corners, 'logit')
        if self.space == 'vote':
            value = (value * 2 > count).float()
        else:
            value = value.div_(count).sigmoid_()
        return _add_weighted(total, value, weight)


def _add_weighted(total: Optional[Tensor], value: Tensor, weight: Weight) -> Tensor:
    """``total + weight * value`` in place (``weight * value`` when ``total`` is None)."""
    weights = torch.as_tensor(weight, dtype=torch.float32, device=value.device)
    weights = weights.flatten().expand(value.shape[0]).reshape(-1, 1, 1)
    if total is None:
        return value.mul_(weights)
    return total.addcmul_(value.to(total.device), weights.to(total.device))


def _class_weights(weight: Weight, num_classes: int) -> List[float]:
    if torch.is_tensor(weight):
        return weight.detach().float().flatten().expand(num_classes).cpu().tolist()
    return [float(weight)] * num_classes


def merge_masks(stacks: Sequence[ViewStack], weights: Sequence[Weight],
                thresholds: Tensor) -> Tensor:
    """``weighted mean of the stacks' values > thresholds`` as (C, H, W) bool masks.

    Every class is computed only on the union of its terms' boxes; the float
    values never exist at the original size. All stacks share one original
    size and device; their views may have any test size. The boxes of all
    views are brought to the host at once (one synchronisation per image).

    Args:
        stacks (Sequence[ViewStack]): The terms (models), each with its views.
        weights (Sequence[float | Tensor]): Per stack, a scalar or (C, 1, 1)
            per-class non-negative weight.
        thresholds (Tensor): (C, 1, 1) probability thresholds of the mean.

    Returns:
        Tensor: (C, H, W) bool masks on the stacks' device (on the CPU, a buffer of
        :data:`~mmseg_ext.utils.masks.mask_buffers.MASK_BUFFERS`, reused once released).
    """
    with _one_cpu_thread(stacks[0].device):
        return _merge_masks(stacks, weights, thresholds)


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """On the CPU, run the per-class work on one intra-op thread: its operations are
    small (a box each), where parallel regions cost more than they gain, and stall when
    the cores are busy with other processes. Elementwise results do not depend on it."""
    threads = torch.get_num_threads()
    if device.type != 'cpu' or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def class_boxes(stacks: Sequence[ViewStack], thresholds: Tensor) -> List[Optional[Box]]:
    """Per class, the original-size box outside which no weighted mean of the stacks (any
    non-negative weights) passes ``thresholds``: the union of every view's box of cells
    near passing (None: the class cannot pass anywhere).

    Args:
        stacks (Sequence[ViewStack]): The terms, each with its views.
        thresholds (Tensor): (C, 1, 1) probability thresholds of the mean.

    Returns:
        list[tuple | None]: Per class, (y0, y1, x0, x1), ends exclusive.
    """
    thresholds = thresholds.to(stacks[0].device).reshape(-1, 1, 1)
    per_stack = [stack.cell_boxes(thresholds) for stack in stacks]
    counts = [len(boxes) for boxes in per_stack]
    host = torch.stack([b for boxes in per_stack for b in boxes]).tolist()
    out_boxes, start = [], 0
    for stack, count in zip(stacks, counts):
        out_boxes.append(stack.output_boxes(host[start:start + count]))
        start += count
    return [box_union(view[c] for boxes in out_boxes for view in boxes)
            for c in range(stacks[0].num_classes)]


def _merge_masks(stacks: Sequence[ViewStack], weights: Sequence[Weight],
                 thresholds: Tensor) -> Tensor:
    first = stacks[0]
    num_classes, size, device = first.num_classes, first.size, first.device
    thresholds = thresholds.to(device).reshape(-1, 1, 1)
    boxes = class_boxes(stacks, thresholds)
    class_weights = [_class_weights(w, num_classes) for w in weights]
    weight_sums = _weight_sums(weights, num_classes)
    masks = MASK_BUFFERS.zeros((num_classes, ) + size, device)
    limits = thresholds.flatten().tolist()
    for c, box in enumerate(boxes):
        if box is None:
            continue
        total = None
        for stack, w in zip(stacks, class_weights):
            value = stack.values(c, box).to(device)
            total = value.mul_(w[c]) if total is None else total.add_(value.mul_(w[c]))
        total = total.div_(weight_sums[c])
        y0, y1, x0, x1 = box
        masks[c, y0:y1, x0:x1] = total > limits[c]
    return masks


def _weight_total(weights: Sequence[Weight]) -> Weight:
    """``0 + w1 + w2 ...``: a python float, or a float32 tensor once a per-class weight
    is among them."""
    total: Weight = 0.0
    for weight in weights:
        total = total + (weight.detach().float().cpu() if torch.is_tensor(weight) else weight)
    return total


def _weight_sums(weights: Sequence[Weight], num_classes: int) -> List[float]:
    """Per class, the sum of the weights (:func:`_weight_total`)."""
    total = _weight_total(weights)
    if torch.is_tensor(total):
        return total.flatten().expand(num_classes).tolist()
    return [float(total)] * num_classes


def upsample_and_threshold(logits: Tensor, out_size: Sequence[int], thresholds: Tensor,
                           align_corners: bool) -> Tensor:
    """``sigmoid(resize(logits)) > threshold`` per class without the full float tensor.

    One model, one view: :func:`merge_masks` of a single-view stack, so each class is
    resampled only on the box of cells near passing (any scale factor), with full-size
    source coordinates.

    Args:
        logits (Tensor): (C, h, w) logits.
        out_size (Sequence[int]): (H, W) original size.
        thresholds (Tensor): (C, 1, 1) probability thresholds.
        align_corners (bool): As used by the model.

    Returns:
        Tensor: (C, H, W) bool mask.
    """
    stack = ViewStack(out_size, 'prob', align_corners).add(logits)
    return merge_masks([stack], [1.0], thresholds)


def dense_mean(stacks: Sequence[ViewStack], weights: Sequence[Weight]) -> Tensor:
    """The weighted mean of the stacks' values as a (C, H, W) float tensor at the
    original size (the full-plane path: a dense CRF needs it).

    Args:
        stacks (Sequence[ViewStack]): The terms (models), each with its views.
        weights (Sequence[float | Tensor]): Per stack, a scalar or (C, 1, 1)
            per-class weight.

    Returns:
        Tensor: (C, H, W) float32 weighted mean.
    """
    total = None
    for stack, weight in zip(stacks, weights):
        total = stack.add_dense(total, weight)
    weight_sum = _weight_total(weights)
    if torch.is_tensor(weight_sum):
        weight_sum = weight_sum.reshape(-1, 1, 1).to(total.device)
    return total.div_(weight_sum)


def rule_masks(stacks: Sequence[ViewStack], weights: Sequence[Weight], rule,
               image: Optional[np.ndarray] = None) -> Tensor:
    """(C, H, W) bool masks of the weighted mean of ``stacks`` under a mask rule.

    Thresholds on boxes (:func:`merge_masks`), then the rule's cleanup. A rule
    with ``crf`` refines the full-size mean probabilities (:func:`dense_mean`)
    instead, except for a vote (its masks are final).

    Args:
        stacks (Sequence[ViewStack]): The terms, each with its views.
        weights (Sequence[float | Tensor]): Per stack, scalar or (C, 1, 1) weight.
        rule (MaskRule): Thresholds, cleanup and CRF
            (:class:`~mmseg_ext.utils.postprocessing.mask_rule.MaskRule`).
        image (np.ndarray, optional): The (H, W) grey image, for a CRF.

    Returns:
        Tensor: (C, H, W) bool masks.
    """
    if rule.crf and all(stack.space != 'vote' for stack in stacks):
        return rule(dense_mean(stacks, weights), image)
    thresholds = rule.thresholds(stacks[0].num_classes, stacks[0].device)
    return rule.finish(merge_masks(stacks, weights, thresholds))
