"""Train the folds of a config (resumable, side by side on several GPUs), predict each fold's
validation images (out-of-fold) and report the cross-validation Dice.

``python tools/kfold.py CONFIG --data-root DIR --folds 5 [--only 0,2] [--work-dir W]
[--gpus 0,1,2,3 | --parallel N] [--amp [--amp-dtype bfloat16]] [--auto-scale-lr]
[--split-file F] [--tta] [--device cuda] [--cfg-options ...]``

Each fold trains in its own process (tools/train.py ``--fold k --resume``) in ``W/fold{k}``.
Run the same command again after a kill: finished folds are skipped (their checkpoints and
metrics untouched) and an interrupted fold resumes from its last checkpoint. Writes
``W/members.txt`` (the best checkpoint of each finished fold, one ``CONFIG:CKPT`` a line, for
``tools/predict.py --models-from``), ``W/kfold_report.csv`` (Dice per class and fold) and
``W/kfold_report.png``; each fold's ``learning_curve.png`` is in its work dir.
The folds (numbered as scikit-learn's ``GroupKFold``) are written once to ``W/splits.json``,
which every fold and every re-run trains with; ``--split-file F`` uses ``F``'s folds instead.
Each finished fold's best checkpoint then predicts its validation images into
``W/fold{k}/oof/`` (only the missing files on a re-run; ``--tta``: the config's TTA views),
and once every fold has them: ``W/oof.csv`` and the CV score ``W/cv_summary.csv``/``.json``
(for ``tools/find_best.py``).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from mmengine.config import DictAction

from mmseg_ext.apis.member import MemberSpec, write_members_file
from mmseg_ext.apis.oof import SplitLeakError, predict_fold_oof
from mmseg_ext.datasets.folds import (group_kfold_assignment, read_split_file, split_of,
                                      write_split_file)
from mmseg_ext.evaluation.oof_run import (OOF_DIR, OofRunError, cv_summary, load_oof_run,
                                          write_cv_summary, write_oof_submission)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.checkpoint import checkpoint_split
from mmseg_ext.utils.fileio.file_scan import scan_files
from mmseg_ext.utils.formats.fold_result import FoldResult, read_fold_result, write_fold_result
from mmseg_ext.utils.formats.kfold_report import dice_per_fold, write_kfold_report
from mmseg_ext.utils.formats.scalars_json import best_validation
from mmseg_ext.utils.runtime.config_options import ConfigOptionError, check_data_root
from mmseg_ext.utils.runtime.launch import read_config
from mmseg_ext.visualization.bar_chart import write_fold_chart

TRAIN = osp.join(osp.dirname(osp.abspath(__file__)), 'train.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--data-root', help="training data: DIR/DCM and DIR/outputs_json "
                        "(default: the config's)")
    parser.add_argument('--folds', type=int, default=5, help='number of GroupKFold folds')
    parser.add_argument('--only', help='comma-separated folds to run, e.g. 0,2 (default: all)')
    parser.add_argument('--work-dir', help='root of the fold work dirs (default: '
                        'work_dirs/<config>_kfold)')
    parser.add_argument('--gpus', help='comma-separated GPU ids: one fold per GPU side by side '
                        '(CUDA_VISIBLE_DEVICES of each fold process)')
    parser.add_argument('--parallel', type=int, default=1,
                        help='folds at once without --gpus (e.g. on a CPU machine)')
    parser.add_argument('--amp', action='store_true', help='passed to tools/train.py')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        help='passed to tools/train.py')
    parser.add_argument('--auto-scale-lr', action='store_true', help='passed to tools/train.py')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to tools/train.py (not fold/num_folds/split_file: use '
                        '--only/--folds/--split-file)')
    parser.add_argument('--split-file', help='JSON split file (one {"train": [keys], "val": '
                        '[keys]} per fold) to train with, copied to W/splits.json (default: '
                        "W/splits.json, written from the data root's images on the first run)")
    parser.add_argument('--tta', action='store_true',
                        help="out-of-fold predictions hold the config's TTA views (what "
                        'tools/find_best.py and predict.py --tta then use)')
    parser.add_argument('--device', default=None,
                        help='device of the out-of-fold predictions (default: cuda if usable)')
    args = parser.parse_args()
    options = argparse.ArgumentParser()
    options.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args.cfg_options_dict = options.parse_args(['--cfg-options', *args.cfg_options]
                                               if args.cfg_options else []).cfg_options
    return args


def requested_folds(only: Optional[str], num_folds: int) -> List[int]:
    """``--only 0,2`` -> [0, 2]; every fold when not given."""
    if not only:
        return list(range(num_folds))
    try:
        folds = sorted({int(v) for v in only.split(',') if v.strip()})
    except ValueError as err:
        raise ConfigOptionError(f'--only {only}: expected fold numbers like 0,2') from err
    bad = [k for k in folds if not 0 <= k < num_folds]
    if bad or not folds:
        raise ConfigOptionError(f'--only {only}: folds must be within 0..{num_folds - 1} '
                                f'(--folds {num_folds})')
    return folds


def check_folds_have_data(dataset: dict, num_folds: int, flag: str = '--data-root') -> None:
    """Stop when the data root lacks its folders or holds fewer ID folders than folds
    (every fold then validates on at least one ID)."""
    check_data_root(dataset['data_root'], flag)
    img_dir = osp.join(dataset['data_root'], 'DCM')
    ids = [path.split(os.sep)[0] for path in scan_files(img_dir, ('.png', '.dcm'))]
    try:
        group_kfold_assignment(ids, num_folds)
    except ValueError as err:  # more folds than ID folders
        raise ConfigOptionError(f'--folds {num_folds} on {img_dir}: {err}') from err


def image_keys(data_root: str) -> List[str]:
    """``IDxxx/<image stem>`` of every image under ``data_root/DCM``, sorted.

    Args:
        data_root (str): Training data root.
    """
    return sorted(osp.splitext(path)[0].replace(os.sep, '/')
                  for path in scan_files(osp.join(data_root, 'DCM'), ('.png', '.dcm')))


def recorded_val_keys(fold_dir: str) -> Optional[List[str]]:
    """The validation keys that the fold's latest checkpoint recorded (``RecordSplitHook``),
    None when it has no checkpoint or records no split.

    Args:
        fold_dir (str): ``W/fold{k}``.
    """
    pointer = osp.join(fold_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        checkpoint = osp.join(fold_dir, osp.basename(checkpoint))
    split = checkpoint_split(checkpoint) if osp.isfile(checkpoint) else None
    return sorted(split['val']) if split else None


def check_no_unrecorded_folds(work_root: str, split: list) -> None:
    """Stop when ``work_root`` holds trained folds but no ``splits.json``, unless each such
    fold's checkpoint recorded exactly ``split``'s validation images for it (folds trained
    elsewhere with ``tools/train.py --fold k --work-dir W/fold{k}``, e.g. on a cluster).

    Args:
        work_root (str): Root of the fold work dirs.
        split (list): The split this run would write.
    """
    names = os.listdir(work_root) if osp.isdir(work_root) else []
    for name in sorted(n for n in names if n.startswith('fold') and n[4:].isdigit()):
        fold_dir = osp.join(work_root, name)
        markers = [m for m in ('fold_result.json', 'last_checkpoint')
                   if osp.isfile(osp.join(fold_dir, m))]
        if not markers:
            continue
        fold = int(name[4:])
        recorded = recorded_val_keys(fold_dir)
        if fold < len(split) and recorded == sorted(split[fold]['val']):
            continue
        raise ConfigOptionError(
            f'{fold_dir} holds a trained fold ({markers[0]}) but {work_root} has no '
            'splits.json, and its checkpoint does not record the validation images of fold '
            f'{fold} of this split (folds are numbered as scikit-learn\'s GroupKFold; '
            'earlier versions numbered them otherwise): this run would mix two splits. Use '
            'another --work-dir, or give the split it trained with as --split-file')


def prepare_split_file(work_root: str, data_root: str, num_folds: int,
                       given: Optional[str] = None) -> str:
    """``work_root/splits.json``, written once (from ``given``, else GroupKFold over the data
    root's images) and reused by every re-run; stop when it cannot hold this run's folds.

    Args:
        work_root (str): Root of the fold work dirs.
        data_root (str): Training data root.
        num_folds (int): ``--folds``.
        given (str, optional): ``--split-file``.

    Returns:
        str: The absolute path of ``work_root/splits.json``.
    """
    path = osp.abspath(osp.join(work_root, 'splits.json'))
    keys, split = image_keys(data_root), None
    if given:
        split = read_split_file(given)
        check_split_fits(split, keys, num_folds, data_root, f'--split-file {given}',
                         'split file')
    elif osp.isfile(path):
        check_split_fits(read_split_file(path), keys, num_folds, data_root, path, '--work-dir')
    if osp.isfile(path):
        if given and _normalized(read_split_file(path)) != _normalized(split):
            raise ConfigOptionError(f'{path} holds other folds than --split-file {given}: use '
                                    'another --work-dir, or leave --split-file out')
        return path
    split = split or split_of(keys, num_folds)
    check_no_unrecorded_folds(work_root, split)
    write_split_file(path, split)
    return path


def check_split_fits(split: list, keys: List[str], num_folds: int, data_root: str,
                     source: str, other: str) -> None:
    """Stop unless ``split`` has ``num_folds`` folds, each listing exactly ``keys``.

    Args:
        split (list): The split, as :func:`read_split_file` returns it.
        keys (list[str]): The image keys of ``data_root``.
        num_folds (int): ``--folds``.
        data_root (str): Training data root, for the message.
        source (str): Where the split comes from, for the message.
        other (str): What else to give (``--work-dir``, ``split file``).
    """
    if len(split) != num_folds:
        raise ConfigOptionError(f'{source} has {len(split)} folds but --folds {num_folds}: '
                                f'give --folds {len(split)} or another {other}')
    for k, fold in enumerate(split):
        odd = sorted(set(keys) ^ (set(fold['train']) | set(fold['val'])))
        if odd:
            what = 'is missing from it' if odd[0] in keys else 'has no image there'
            raise ConfigOptionError(f'{source}: fold {k} does not list exactly the images of '
                                    f'{data_root}: {odd[0]} {what}; give another {other}')


def _normalized(split: list) -> list:
    return [(sorted(fold['train']), sorted(fold['val'])) for fold in split]


def train_command(args: argparse.Namespace, fold: int, work_dir: str) -> List[str]:
    """The tools/train.py command of one fold (always ``--resume``: a no-op when the
    work dir has no checkpoint yet)."""
    command = [sys.executable, TRAIN, args.config, '--work-dir', work_dir, '--fold', str(fold),
               '--folds', str(args.folds), '--resume']
    if args.split_file:
        command += ['--split-file', args.split_file]
    if args.data_root:
        command += ['--data-root', args.data_root]
    if args.amp:
        command.append('--amp')
    if args.amp_dtype:
        command += ['--amp-dtype', args.amp_dtype]
    if args.auto_scale_lr:
        command.append('--auto-scale-lr')
    if args.cfg_options:
        command += ['--cfg-options', *args.cfg_options]
    return command


def finished_result(work_dir: str, fold: int, num_folds: int, data_root: str
                    ) -> Optional[FoldResult]:
    """The fold's result when an earlier run finished it with these settings."""
    result = read_fold_result(work_dir)
    if result is None:
        return None
    if (result.num_folds, result.data_root) != (num_folds, osp.abspath(data_root)):
        raise ConfigOptionError(
            f'{work_dir} holds fold {fold} of --folds {result.num_folds} on {result.data_root}; '
            f'this run asks --folds {num_folds} on {osp.abspath(data_root)}: use another '
            f'--work-dir')
    return result


def record_result(work_dir: str, config: str, fold: int, num_folds: int,
                  data_root: str) -> FoldResult:
    """Read the finished fold's best validation and checkpoint; write its result file."""
    best = best_validation(work_dir)
    checkpoints = sorted((f for f in os.listdir(work_dir)
                          if f.startswith('best_mDice_') and f.endswith('.pth')),
                         key=lambda f: osp.getmtime(osp.join(work_dir, f)))
    if not checkpoints:
        raise RuntimeError(f'{work_dir}: training finished without a best_mDice_*.pth')
    dumped = osp.join(work_dir, osp.basename(config))  # the Runner's dump: overrides included
    result = FoldResult(fold=fold, num_folds=num_folds, data_root=osp.abspath(data_root),
                        config=dumped if osp.isfile(dumped) else osp.abspath(config),
                        checkpoint=osp.join(work_dir, checkpoints[-1]), metrics=best)
    write_fold_result(work_dir, result)
    return result


class FoldScheduler:
    """Runs fold processes, at most one per slot (a GPU id, or a CPU slot).

    Args:
        slots (list): GPU ids (str) or None for CPU slots.
        total (int): Folds in the whole run (for the banners).
    """

    def __init__(self, slots: List[Optional[str]], total: int) -> None:
        self.free = list(slots)
        self.total = total
        self.running: Dict[int, tuple] = {}
        self.failed: List[tuple] = []
        self.durations: List[float] = []

    def start(self, fold: int, command: List[str], work_dir: str) -> None:
        """Start a fold on a free slot; its output goes to the console when it runs
        alone, else to ``work_dir/kfold_train.log``."""
        slot = self.free.pop(0)
        env = dict(os.environ)
        where = 'this machine'
        if slot is not None:
            env['CUDA_VISIBLE_DEVICES'] = slot
            where = f'GPU {slot}'
        os.makedirs(work_dir, exist_ok=True)
        log_path, log = None, None
        if self.free or self.running:  # side by side: one log file per fold
            log_path = osp.join(work_dir, 'kfold_train.log')
            log = open(log_path, 'a')
        banner(f'fold {fold + 1}/{self.total} (fold {fold}) training on {where} in {work_dir}'
               + (f'; log: {log_path}' if log_path else ''))
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT
                                   if log else None)
        self.running[fold] = (process, slot, log, log_path, time.time())

    def wait_one(self) -> Tuple[int, bool]:
        """Wait until a running fold ends; free its slot; return (fold, succeeded)."""
        while True:
            for fold, (process, slot, log, log_path, started) in list(self.running.items()):
                if process.poll() is None:
                    continue
                del self.running[fold]
                self.free.append(slot)
                if log:
                    log.close()
                if process.returncode != 0:
                    self.failed.append((fold, process.returncode, log_path))
                    return fold, False
                self.durations.append(time.time() - started)
                return fold, True
            time.sleep(1)


def banner(text: str) -> None:
    print(f'\n=== kfold: {text}', flush=True)


def run_folds(args: argparse.Namespace, folds: List[int], work_root: str,
              data_root: str) -> Dict[int, FoldResult]:
    """Skip finished folds, train the others (resuming), and collect every result."""
    results: Dict[int, FoldResult] = {}
    todo = []
    for fold in folds:
        work_dir = osp.join(work_root, f'fold{fold}')
        result = finished_result(work_dir, fold, args.folds, data_root)
        if result is not None:
            banner(f'fold {fold + 1}/{args.folds} (fold {fold}) already finished: best mDice '
                   f'{result.metrics["mDice"]:.4f}, {result.checkpoint}; skipped')
            results[fold] = result
        else:
            todo.append(fold)
    slots: List[Optional[str]] = [g.strip() for g in args.gpus.split(',')] if args.gpus \
        else [None] * max(1, args.parallel)
    scheduler, start = FoldScheduler(slots, args.folds), time.time()
    queue = list(todo)
    while queue or scheduler.running:
        while queue and scheduler.free:
            fold = queue.pop(0)
            work_dir = osp.join(work_root, f'fold{fold}')
            scheduler.start(fold, train_command(args, fold, work_dir), work_dir)
        fold, succeeded = scheduler.wait_one()
        if succeeded:
            work_dir = osp.join(work_root, f'fold{fold}')
            results[fold] = record_result(work_dir, args.config, fold, args.folds, data_root)
            left = len(queue) + len(scheduler.running)
            eta = sum(scheduler.durations) / len(scheduler.durations) * \
                -(-left // len(slots)) if left else 0.0
            banner(f'fold {fold} finished: best mDice {results[fold].metrics["mDice"]:.4f} '
                   f'({time.time() - start:.0f} s so far; {left} fold(s) left, '
                   f'ETA {eta / 60:.1f} min)')
    for fold, code, log_path in scheduler.failed:
        print(f'kfold: fold {fold} failed (exit {code})'
              + (f'; see {log_path}' if log_path else ''), file=sys.stderr)
    if scheduler.failed:
        sys.exit(1)
    return results


def main() -> None:
    args = parse_args()
    for key in ('fold', 'num_folds'):
        if key in args.cfg_options_dict:
            sys.exit(f'kfold: --cfg-options {key}=... is set by kfold; use --only / --folds')
    if 'split_file' in args.cfg_options_dict:
        sys.exit('kfold: --cfg-options split_file=... is set by kfold; use --split-file')
    try:
        cfg = read_config(args.config, args.cfg_options_dict, data_root=args.data_root,
                          num_folds=args.folds)
        folds = requested_folds(args.only, args.folds)
        dataset = cfg.train_dataloader.dataset
        check_folds_have_data(dataset, args.folds, '--data-root' if args.data_root
                              else "the config's data_root (give --data-root)")
    except (ConfigOptionError, FileNotFoundError) as err:
        sys.exit(f'kfold: {err}')
    work_root = args.work_dir or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0] + '_kfold')
    try:  # from here on the work dir's copy, which every fold trains with
        args.split_file = prepare_split_file(work_root, dataset['data_root'], args.folds,
                                             args.split_file)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'kfold: {err}')
    try:
        results = run_folds(args, folds, work_root, dataset['data_root'])
    except RuntimeError as err:  # a fold that finished without validation metrics
        sys.exit(f'kfold: {err}')
    # Every fold finished in this work root so far (an --only run adds to earlier ones).
    for fold in range(args.folds):
        if fold not in results:
            found = read_fold_result(osp.join(work_root, f'fold{fold}'))
            if found is not None and found.num_folds == args.folds:
                results[fold] = found
    ordered = [results[k] for k in sorted(results)]
    write_members_file(osp.join(work_root, 'members.txt'),
                       [MemberSpec.checkpoint_member(r.config, r.checkpoint) for r in ordered])
    metrics = {f'fold{r.fold}': r.metrics for r in ordered}
    mean = write_kfold_report(work_root, metrics)
    write_fold_chart(osp.join(work_root, 'kfold_report.png'), dice_per_fold(metrics),
                     HAND_BONE_CLASSES)
    banner(f'mean mDice over {len(ordered)} of {args.folds} folds: {mean:.4f}; report, chart '
           f'and members.txt in {work_root}')
    try:
        make_oof(args, ordered, work_root, dataset['data_root'])
    except (OofRunError, SplitLeakError) as err:
        sys.exit(f'kfold: {err}')


def make_oof(args: argparse.Namespace, results: List[FoldResult], work_root: str,
             data_root: str) -> None:
    """Each finished fold's out-of-fold predictions (only what is missing); once every
    fold has them, ``oof.csv`` and the CV score in ``cv_summary.csv``/``.json``."""
    for result in results:
        banner(f'fold {result.fold}: out-of-fold predictions of its validation images'
               + (' (TTA)' if args.tta else ''))
        predict_fold_oof(result.config, result.checkpoint, result.fold,
                         osp.join(work_root, f'fold{result.fold}', OOF_DIR), data_root,
                         tta=args.tta, device=args.device)
    if len(results) < args.folds:
        banner(f'{args.folds - len(results)} fold(s) left: the CV score comes once every '
               'fold has finished')
        return
    run = load_oof_run(work_root)
    csv_path = osp.join(work_root, 'oof.csv')
    write_oof_submission(run, csv_path)
    summary = cv_summary(run, csv_path, data_root)
    written = write_cv_summary(work_root, summary)
    print_cv_summary(summary)
    banner(f'CV (out-of-fold, {summary["num_images"]} images): mDice {summary["mDice"]:.4f} '
           f'(folds {", ".join(f"{v:.4f}" for v in summary["fold_mDice"].values())}; '
           f'std {summary["fold_mDice_std"]:.4f}); wrote {csv_path}, {", ".join(written)}')


def print_cv_summary(summary: dict) -> None:
    """The per-class CV table."""
    print(f'{"class":<12} {"Dice":>7} {"HD95":>8} {"NSD":>7}')
    for name, row in summary['classes'].items():
        print(f'{name:<12} {row["dice"]:7.4f} {row["hd95"]:8.2f} {row["nsd"]:7.4f}')
    print(f'{"mean":<12} {summary["mDice"]:7.4f} {summary["mHD95"]:8.2f} {summary["mNSD"]:7.4f}')


if __name__ == '__main__':
    main()
