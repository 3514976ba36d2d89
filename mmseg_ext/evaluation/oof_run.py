"""A k-fold work dir's out-of-fold predictions, checked whole, and the CV score they give.

``WORK/fold{k}/fold_result.json`` says which folds finished (``tools/kfold.py``) and
``WORK/fold{k}/oof/`` holds their out-of-fold files
(:mod:`mmseg_ext.utils.formats.oof_file`). Every training image must have exactly one
file, made by the fold that held it out; :func:`load_oof_run` checks it before any work.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.formats.fold_result import FoldResult, read_fold_result
from mmseg_ext.utils.formats.oof_file import (OofRecord, oof_keys, oof_path, read_oof_file,
                                              read_oof_header)
from mmseg_ext.utils.postprocessing.box_merge import rule_masks
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule

OOF_DIR = 'oof'


class OofRunError(ValueError):
    """A work dir whose out-of-fold predictions cannot be used; the message names it and
    the command that fixes it."""


@dataclass
class OofRun:
    """The out-of-fold predictions of one k-fold work dir.

    Args:
        work_dir (str): The ``--work-dir`` of ``tools/kfold.py``.
        folds (dict[int, FoldResult]): Every fold's result.
        fold_of (dict[str, int]): Image key -> the fold that predicted it, in key order.
        classes (list[str]): The classes of the logits.
        tta (bool): Whether the files hold the TTA views.
        image_names (dict[str, str]): Image key -> file base name.
    """
    work_dir: str
    folds: Dict[int, FoldResult]
    fold_of: Dict[str, int]
    classes: List[str]
    tta: bool
    image_names: Dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> List[str]:
        """The image keys in sorted path order."""
        return list(self.fold_of)

    def path(self, key: str) -> str:
        """The out-of-fold file of image ``key``.

        Args:
            key (str): The image key.
        """
        return oof_path(osp.join(self.work_dir, f'fold{self.fold_of[key]}', OOF_DIR), key)

    def record(self, key: str) -> OofRecord:
        """The out-of-fold record of image ``key``.

        Args:
            key (str): The image key.
        """
        return read_oof_file(self.path(key))

    def rule(self, fold: int) -> MaskRule:
        """The mask rule (thresholds, cleanup) of fold ``fold``'s config ``test_cfg``.

        Args:
            fold (int): The fold.
        """
        from mmengine.config import Config
        return MaskRule.from_test_cfg(Config.fromfile(self.folds[fold].config).model.test_cfg)


def finished_folds(work_dir: str) -> Dict[int, FoldResult]:
    """Every fold of ``work_dir`` with a ``fold_result.json``; stop when one is missing.

    Args:
        work_dir (str): A ``tools/kfold.py`` work dir.

    Raises:
        OofRunError: No finished fold, or folds of the split not finished (named).
    """
    found = {}
    for k in range(64):
        result = read_fold_result(osp.join(work_dir, f'fold{k}'))
        if result is not None:
            found[k] = result
    if not found:
        raise OofRunError(f'{work_dir}: no finished fold (fold*/fold_result.json); train the '
                          'folds with tools/kfold.py CONFIG --work-dir ' + work_dir)
    num_folds = next(iter(found.values())).num_folds
    missing = [k for k in range(num_folds) if k not in found]
    if missing:
        raise OofRunError(f'{work_dir}: fold(s) {missing} of {num_folds} have not finished; '
                          'run tools/kfold.py with this --work-dir until every fold has')
    return {k: found[k] for k in range(num_folds)}


def check_complete(work_dir: str, fold: int, checkpoint: str, keys: List[str]) -> None:
    """Stop unless fold ``fold`` has a file for every image its checkpoint validated on
    (its recorded split): a killed prediction pass leaves some out.

    Args:
        work_dir (str): The k-fold work dir.
        fold (int): The fold.
        checkpoint (str): The fold's checkpoint.
        keys (list[str]): The keys of the fold's out-of-fold files.

    Raises:
        OofRunError: Images without a file (the first named), or a checkpoint that records
            no split.
    """
    from mmseg_ext.utils.fileio.checkpoint import checkpoint_split
    split = checkpoint_split(checkpoint)
    if split is None:
        raise OofRunError(f'{checkpoint} records no training split: its out-of-fold files '
                          'cannot be checked against it; retrain the fold')
    missing = sorted(set(split['val']) - set(keys))
    if missing:
        raise OofRunError(
            f'{work_dir}: fold {fold} lacks the out-of-fold files of {len(missing)} of its '
            f'{len(split["val"])} validation images (e.g. {missing[0]}); run tools/kfold.py '
            f'CONFIG --work-dir {work_dir} again: it makes only the missing ones')


def load_oof_run(work_dir: str) -> OofRun:
    """The checked out-of-fold predictions of ``work_dir``.

    Args:
        work_dir (str): A ``tools/kfold.py`` work dir.

    Raises:
        OofRunError: A fold without its files, an image with two files, files of
            different classes or TTA (each named, with the command that fixes it).
    """
    folds = finished_folds(work_dir)
    fold_of: Dict[str, int] = {}
    for k in folds:
        oof_dir = osp.join(work_dir, f'fold{k}', OOF_DIR)
        keys = sorted(oof_keys(oof_dir)) if osp.isdir(oof_dir) else []
        if not keys:
            raise OofRunError(f'{oof_dir}: no out-of-fold predictions yet; run tools/kfold.py '
                              f'CONFIG --work-dir {work_dir} (with the same --folds/--data-root) '
                              'again: it makes them for finished folds without training')
        check_complete(work_dir, k, folds[k].checkpoint, keys)
        for key in keys:
            if key in fold_of:
                raise OofRunError(f'{work_dir}: image {key} has out-of-fold files in fold '
                                  f'{fold_of[key]} and fold {k}; delete fold*/oof and run '
                                  'tools/kfold.py again')
            fold_of[key] = k
    fold_of = dict(sorted(fold_of.items()))
    run = OofRun(work_dir, folds, fold_of, [], False)
    first: Optional[dict] = None
    for key in run.keys:
        header = read_oof_header(run.path(key))
        if first is None:
            first = header
        elif (header['classes'], header['tta']) != (first['classes'], first['tta']):
            raise OofRunError(f'{run.path(key)} and {run.path(run.keys[0])} differ in classes '
                              'or TTA; run tools/kfold.py again with one --tta setting')
        run.image_names[key] = header['image_name']
    run.classes, run.tta = list(first['classes']), bool(first['tta'])
    return run


def oof_masks(record: OofRecord, rule: MaskRule, device=None):
    """(C, H, W) bool masks at the original size of one out-of-fold record under ``rule``:
    what ``tools/predict.py`` gives with the fold's checkpoint and this rule (up to the
    float16 rounding of the stored logits).

    Args:
        record (OofRecord): The image's record.
        rule (MaskRule): Thresholds and cleanup.
        device (torch.device, optional): Where to compute (default the CPU).
    """
    return rule_masks([record.raw.stack(device)], [1.0], rule)


def write_oof_submission(run: OofRun, csv_path: str) -> int:
    """The out-of-fold masks (each fold's own mask rule) as a submission CSV, images in
    sorted path order; return the number of images.

    Args:
        run (OofRun): The out-of-fold predictions.
        csv_path (str): The CSV to write (atomically).
    """
    from mmseg_ext.utils.formats.submission import SubmissionWriter
    from mmseg_ext.utils.runtime.progress import track
    rules = {k: run.rule(k) for k in run.folds}
    with SubmissionWriter(csv_path, run.classes) as writer:
        for key in track(run.keys, what='out-of-fold masks'):
            writer.write_image(run.image_names[key],
                               oof_masks(run.record(key), rules[run.fold_of[key]]))
    return len(run.keys)


def cv_summary(run: OofRun, csv_path: str, data_root: str, progress: bool = True) -> dict:
    """The competition score of the out-of-fold submission ``csv_path`` over the labels of
    ``data_root`` (:func:`~mmseg_ext.evaluation.submission_eval.evaluate_submission`:
    Dice per image and class, empty vs empty 1, averaged over images, then classes), with
    each class's Dice, HD95 and NSD, each fold's mean and their spread.

    Args:
        run (OofRun): The out-of-fold predictions the CSV was made from.
        csv_path (str): :func:`write_oof_submission`'s CSV.
        data_root (str): The training data root.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``mDice``, ``num_images``, ``fold_mDice`` (per fold), ``fold_mDice_std``,
        ``classes`` (name -> dict of ``dice``, ``hd95``, ``nsd``), ``mHD95``, ``mNSD``.
    """
    from .metrics.boundary_metric import nan_mean
    from .submission_eval import evaluate_submission, plan_evaluation
    plan = plan_evaluation(csv_path, data_root, run.classes)
    result = evaluate_submission(plan, run.classes, progress=progress)
    summary = result.summary
    fold_by_name = {run.image_names[key]: fold for key, fold in run.fold_of.items()}
    folds = np.array([fold_by_name[name] for name in result.names])
    fold_means = {int(k): float(result.dice[folds == k].mean(axis=0).mean())
                  for k in sorted(set(folds.tolist()))}
    return dict(
        mDice=float(summary['dice'].mean()), num_images=len(result.names),
        fold_mDice=fold_means, fold_mDice_std=float(np.std(list(fold_means.values()))),
        mHD95=float(nan_mean(summary['hd95'])), mNSD=float(nan_mean(summary['nsd'])),
        classes={name: dict(dice=float(summary['dice'][c]), hd95=float(summary['hd95'][c]),
                            nsd=float(summary['nsd'][c]))
                 for c, name in enumerate(run.classes)})


def write_cv_summary(work_dir: str, summary: dict) -> List[str]:
    """``WORK/cv_summary.json`` (the whole summary) and ``WORK/cv_summary.csv`` (one row
    per class, then the mean and one row per fold), atomically; return their paths.

    Args:
        work_dir (str): The k-fold work dir.
        summary (dict): :func:`cv_summary`'s result.
    """
    json_path, csv_path = (osp.join(work_dir, f'cv_summary.{ext}') for ext in ('json', 'csv'))
    with atomic_open(json_path, 'w') as f:
        json.dump(summary, f, indent=1)
    with atomic_open(csv_path, 'w') as f:
        f.write('class,dice,hd95,nsd\n')
        for name, row in summary['classes'].items():
            f.write(f'{name},{row["dice"]:.6f},{row["hd95"]:.4f},{row["nsd"]:.6f}\n')
        f.write(f'mean,{summary["mDice"]:.6f},{summary["mHD95"]:.4f},{summary["mNSD"]:.6f}\n')
        for fold, value in summary['fold_mDice'].items():
            f.write(f'fold{fold},{value:.6f},,\n')
    return [json_path, csv_path]
