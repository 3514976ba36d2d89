"""A submission CSV scored against the polygon labels of a data root, image by image.

The competition Dice (per image and class, 1 when both masks are empty;
averaged over images, then classes) has the counts and formula of
:class:`~mmseg_ext.evaluation.DiceMetric` (counted inside each class's boxes,
so equal to its counts), and the ground truth is rasterised
by the same transform as the dataset's (``LoadHandBoneAnnotations`` at the
size read from the image file), so a submission scores what validation
reports for the same masks. Boundary metrics come from
:mod:`mmseg_ext.evaluation.boundary`. Only one image's masks are held at a
time.
"""
import csv
import os.path as osp
from contextlib import nullcontext
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.fileio.file_scan import IMAGE_SUFFIXES, paths_by_name, scan_files
from mmseg_ext.utils.fileio.xray_io import read_xray_shape
from mmseg_ext.utils.formats.rle import rle_decode_into, rle_runs
from mmseg_ext.utils.formats.submission import SubmissionError, read_submission_images
from mmseg_ext.utils.masks.dice_counts import dice_counts_in_boxes, dice_from_counts
from mmseg_ext.utils.masks.mask_sources import PackedMasks, PlaneMasks

from .boundary import BOUNDARY_KEYS, boundary_result_packed
from .metrics.boundary_metric import boundary_entry_from, nan_mean, summarize_boundary

PER_IMAGE_HEADER = ('image', 'class', 'dice') + BOUNDARY_KEYS
PER_CLASS_HEADER = ('class', 'dice') + BOUNDARY_KEYS + ('misses', 'hallucinations',
                                                        'both_empty')
# Runs of an image whose size is unknown are checked for form only.
_UNBOUNDED = (1, 2**62)


class EvaluationError(ValueError):
    """A data root or submission that cannot be scored; the message names the path."""


class LabelledImage(NamedTuple):
    """An image with its annotation file.

    Args:
        image_path (str): The X-ray file.
        json_path (str): Its ``outputs_json`` annotation.
        shape (tuple): (H, W) read from the image file.
    """
    image_path: str
    json_path: str
    shape: Tuple[int, int]


class EvaluationPlan(NamedTuple):
    """What a checked submission and data root will be scored on.

    Args:
        csv_path (str): The submission.
        labelled (dict): Image name -> :class:`LabelledImage`.
        scored (list): Names in the CSV with labels, in CSV order.
        unlabelled (list): Names in the CSV without labels.
        missing (list): Labelled names absent from the CSV.
    """
    csv_path: str
    labelled: Dict[str, LabelledImage]
    scored: List[str]
    unlabelled: List[str]
    missing: List[str]


class ImageScore(NamedTuple):
    """One image's scores.

    Args:
        name (str): Image name.
        dice (np.ndarray): (C,) Dice.
        boundary (np.ndarray): (6, C) entry of
            :func:`~mmseg_ext.evaluation.metrics.boundary_metric.boundary_entry`.
    """
    name: str
    dice: np.ndarray
    boundary: np.ndarray


def labelled_images(data_root: str) -> Dict[str, LabelledImage]:
    """Image name -> :class:`LabelledImage` for every image under ``DIR/DCM`` whose
    ``DIR/outputs_json/<IDxxx>/<stem>.json`` exists.

    Args:
        data_root (str): The data root ``DIR``, with ``DCM/`` and ``outputs_json/``.

    Returns:
        dict: Image file name (base name) -> :class:`LabelledImage`.

    Raises:
        EvaluationError: ``DCM/`` or ``outputs_json/`` missing, no labelled
            image, or two images sharing a name.
    """
    image_dir, json_dir = osp.join(data_root, 'DCM'), osp.join(data_root, 'outputs_json')
    for folder, what in ((image_dir, 'images'), (json_dir, 'annotations')):
        if not osp.isdir(folder):
            raise EvaluationError(f'{data_root}: no {osp.basename(folder)}/ folder of {what} '
                                  f'(expected {folder})')
    paths = [osp.join(image_dir, p) for p in scan_files(image_dir, IMAGE_SUFFIXES)]
    try:
        by_name = paths_by_name(paths)
    except ValueError as err:
        raise EvaluationError(str(err)) from err
    out = {}
    for name, path in by_name.items():
        rel = osp.splitext(osp.relpath(path, image_dir))[0]
        json_path = osp.join(json_dir, rel + '.json')
        if osp.isfile(json_path):
            out[name] = LabelledImage(path, json_path, read_xray_shape(path))
    if not out:
        raise EvaluationError(f'{data_root}: no image under DCM/ has an annotation under '
                              'outputs_json/')
    return out


def plan_evaluation(csv_path: str, data_root: str,
                    classes: Sequence[str] = HAND_BONE_CLASSES) -> EvaluationPlan:
    """Check the whole CSV and the data root before any scoring.

    Checks the header, one row per class in class order for every image,
    each image once, and every RLE (against the image size where the image
    is labelled, for form elsewhere).

    Args:
        csv_path (str): The submission CSV.
        data_root (str): The data root (:func:`labelled_images`).
        classes (Sequence[str]): Class names, in the order of each image's
            rows. Defaults to the 29 hand bone classes.

    Returns:
        EvaluationPlan: The labelled images and which CSV names are scored.

    Raises:
        EvaluationError: The first problem, naming the file (and line).
    """
    labelled = labelled_images(data_root)
    if not osp.isfile(csv_path):
        raise EvaluationError(f'{csv_path}: submission CSV not found')
    names: List[str] = []
    seen = set()
    try:
        for name, rles in read_submission_images(csv_path, classes):
            if name in seen:
                raise EvaluationError(f'{csv_path}: image {name!r} appears in two places')
            seen.add(name)
            names.append(name)
            shape = labelled[name].shape if name in labelled else _UNBOUNDED
            for class_name, rle in zip(classes, rles):
                try:
                    rle_runs(rle, shape)
                except ValueError as err:
                    raise EvaluationError(
                        f'{csv_path}: bad RLE for {name}/{class_name}: {err}') from err
    except SubmissionError as err:
        raise EvaluationError(str(err)) from err
    scored = [n for n in names if n in labelled]
    return EvaluationPlan(csv_path, labelled, scored,
                          unlabelled=[n for n in names if n not in labelled],
                          missing=[n for n in labelled if n not in seen])


def ground_truth_bits(image: LabelledImage, num_classes: int) -> np.ndarray:
    """The (H, W) int32 bit map the dataset pipeline makes from the image's polygons.

    Args:
        image (LabelledImage): The image (its annotation file and size).
        num_classes (int): Classes (bits) rasterised, 1 to 31.

    Returns:
        np.ndarray: (H, W) int32 map in which bit ``c`` is set inside class ``c``.
    """
    from mmseg_ext.datasets.transforms.loading import LoadHandBoneAnnotations
    results = LoadHandBoneAnnotations(num_classes)(
        dict(seg_map_path=image.json_path, ori_shape=image.shape))
    return results['gt_seg_map']


def score_image(pred: np.ndarray, bits: np.ndarray, nsd_tolerance: float = 2.0,
                spacing=None) -> Tuple[np.ndarray, np.ndarray]:
    """(C,) Dice (``DiceMetric``'s counts and formula) and the (6, C) boundary entry
    (``BoundaryMetric``'s) of (C, H, W) bool ``pred`` against the packed ``bits``.

    Args:
        pred (np.ndarray): (C, H, W) bool predicted masks.
        bits (np.ndarray): (H, W) integer ground truth in which bit ``c`` is class ``c``.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column); None: 1 pixel.

    Returns:
        tuple[np.ndarray, np.ndarray]: The (C,) Dice and the (6, C) boundary entry.
    """
    pred_masks, gt_masks = PlaneMasks(pred), PackedMasks(bits)
    dice = dice_from_counts(dice_counts_in_boxes(pred_masks, gt_masks, pred.shape[0]))
    result = boundary_result_packed(pred_masks, gt_masks, nsd_tolerance, spacing)
    return dice, boundary_entry_from(result)


def decode_image(rles: Sequence[str], shape: Tuple[int, int]) -> np.ndarray:
    """(C, H, W) bool masks of one image's RLE strings.

    Args:
        rles (Sequence[str]): One RLE string per class, in channel order.
        shape (tuple[int, int]): (H, W) of the image.

    Returns:
        np.ndarray: (C, H, W) bool masks.

    Raises:
        ValueError: A malformed RLE or runs outside the image.
    """
    masks = np.empty((len(rles), ) + tuple(shape), bool)
    for c, rle in enumerate(rles):
        rle_decode_into(rle, masks[c])
    return masks


def iter_submission_masks(plan: EvaluationPlan, classes: Sequence[str] = HAND_BONE_CLASSES,
                          only: Optional[set] = None) -> Iterator[Tuple[str, np.ndarray]]:
    """Stream ``(name, (C, H, W) prediction)`` for the scored images (or ``only`` those).

    Args:
        plan (EvaluationPlan): The checked submission (:func:`plan_evaluation`).
        classes (Sequence[str]): Class names, in the order of each image's
            rows. Defaults to the 29 hand bone classes.
        only (set, optional): Image names to decode instead of all scored
            ones; each must be labelled.

    Yields:
        tuple[str, np.ndarray]: Image name and its (C, H, W) bool masks, in CSV order.
    """
    wanted = set(plan.scored) if only is None else set(only)
    for name, rles in read_submission_images(plan.csv_path, classes):
        if name in wanted:
            yield name, decode_image(rles, plan.labelled[name].shape)


def iter_scores(plan: EvaluationPlan, classes: Sequence[str] = HAND_BONE_CLASSES,
                nsd_tolerance: float = 2.0, spacing=None,
                on_image: Optional[Callable[[], None]] = None) -> Iterator[ImageScore]:
    """Score the plan's images one at a time, in CSV order.

    Args:
        plan (EvaluationPlan): The checked submission (:func:`plan_evaluation`).
        classes (Sequence[str]): Class names, in the order of each image's
            rows. Defaults to the 29 hand bone classes.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column); None: 1 pixel.
        on_image (Callable[[], None], optional): Called after each image is
            scored (e.g. a progress bar's update).

    Yields:
        ImageScore: One per scored image.
    """
    for name, pred in iter_submission_masks(plan, classes):
        bits = ground_truth_bits(plan.labelled[name], len(classes))
        dice, entry = score_image(pred, bits, nsd_tolerance, spacing)
        del pred, bits
        if on_image is not None:
            on_image()
        yield ImageScore(name, dice, entry)


class PerImageWriter:
    """Stream ``per_image.csv`` rows (``image,class,dice,hd,hd95,assd,nsd``) to a
    temporary file renamed on success; NaN (both masks empty) is written as ''.

    Args:
        path (str): The CSV path.
        classes (Sequence[str]): Class names in channel order.
    """

    def __init__(self, path: str, classes: Sequence[str]) -> None:
        self.path = path
        self.classes = list(classes)

    def __enter__(self) -> 'PerImageWriter':
        self._atomic = atomic_open(self.path, 'w', newline='')
        self._writer = csv.writer(self._atomic.__enter__(), lineterminator='\n')
        self._writer.writerow(PER_IMAGE_HEADER)
        return self

    def write(self, score: ImageScore) -> None:
        """Write the image's C rows.

        Args:
            score (ImageScore): The image's Dice and boundary entry.
        """
        for c, name in enumerate(self.classes):
            values = [score.dice[c]] + [score.boundary[i, c] for i in range(len(BOUNDARY_KEYS))]
            self._writer.writerow([score.name, name] + [_fmt(v) for v in values])

    def __exit__(self, exc_type, exc, tb) -> None:
        self._atomic.__exit__(exc_type, exc, tb)


def _fmt(value: float) -> str:
    return '' if np.isnan(value) else f'{value:.6f}'


def per_class_summary(dice: np.ndarray, boundary: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-class Dice mean over images (N, C) and boundary summary of (N, 6, C).

    Args:
        dice (np.ndarray): (N, C) Dice of N images.
        boundary (np.ndarray): (N, 6, C) boundary entries of the same images.

    Returns:
        dict: ``'dice'`` -> (C,) mean Dice, and the keys of
        :func:`~mmseg_ext.evaluation.metrics.boundary_metric.summarize_boundary`.
    """
    summary = {'dice': dice.mean(axis=0)}
    summary.update(summarize_boundary(boundary))
    return summary


def write_per_class_csv(path: str, classes: Sequence[str],
                        summary: Dict[str, np.ndarray]) -> None:
    """``per_class.csv``: one row per class and a ``mean`` row, written atomically.

    Args:
        path (str): The CSV path.
        classes (Sequence[str]): Class names in channel order.
        summary (dict): :func:`per_class_summary` of the scores.
    """
    with atomic_open(path, 'w', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(PER_CLASS_HEADER)
        for c, name in enumerate(classes):
            writer.writerow([name] + [_fmt(summary[k][c]) for k in ('dice', ) + BOUNDARY_KEYS]
                            + [int(summary[k][c]) for k in PER_CLASS_HEADER[6:]])
        writer.writerow(['mean'] + [_fmt(nan_mean(summary[k])) for k in ('dice', )
                                    + BOUNDARY_KEYS] + [int(summary[k].sum())
                                                        for k in PER_CLASS_HEADER[6:]])


class Evaluation(NamedTuple):
    """A scored submission.

    Args:
        names (list): Scored image names, in CSV order.
        dice (np.ndarray): (N, C) Dice.
        boundary (np.ndarray): (N, 6, C) boundary entries.
        summary (dict): :func:`per_class_summary` of them.
    """
    names: List[str]
    dice: np.ndarray
    boundary: np.ndarray
    summary: Dict[str, np.ndarray]


def evaluate_submission(plan: EvaluationPlan, classes: Sequence[str] = HAND_BONE_CLASSES,
                        nsd_tolerance: float = 2.0, spacing=None,
                        per_image_csv: Optional[str] = None,
                        progress: bool = True) -> Evaluation:
    """Score every image of ``plan`` (one at a time), optionally streaming
    ``per_image.csv``, with a progress bar (count and ETA) over the images.

    Args:
        plan (EvaluationPlan): The checked submission (:func:`plan_evaluation`).
        classes (Sequence[str]): Class names, in the order of each image's
            rows. Defaults to the 29 hand bone classes.
        nsd_tolerance (float): NSD tolerance in pixels (in spacing units when
            ``spacing`` is given). Defaults to 2.0.
        spacing (float | Sequence[float], optional): Pixel spacing, one value
            or (row, column); None: 1 pixel.
        per_image_csv (str, optional): Path of the ``per_image.csv`` to write
            (:class:`PerImageWriter`); None writes none.
        progress (bool): Whether to show the progress bar. Defaults to True.

    Returns:
        Evaluation: The names, scores and per-class summary.

    Raises:
        EvaluationError: No image of the CSV has labels.
    """
    if not plan.scored:
        raise EvaluationError(f'{plan.csv_path}: none of its images has labels under the '
                              'data root; nothing to score')
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(plan.scored))
    names, dice, boundary = [], [], []
    with (PerImageWriter(per_image_csv, classes) if per_image_csv else nullcontext()) as writer:
        for score in iter_scores(plan, classes, nsd_tolerance, spacing,
                                 on_image=bar.update if bar else None):
            names.append(score.name)
            dice.append(score.dice)
            boundary.append(score.boundary)
            if writer is not None:
                writer.write(score)
    if bar is not None:
        print()
    dice_arr, boundary_arr = np.stack(dice), np.stack(boundary)
    return Evaluation(names, dice_arr, boundary_arr, per_class_summary(dice_arr, boundary_arr))
