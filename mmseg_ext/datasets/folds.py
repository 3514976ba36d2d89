"""GroupKFold assignment numbered as scikit-learn's (no dependency) and split files.

A split file (the form of nnU-Net's ``splits_final.json``) is a JSON list with one
entry per fold, ``{"train": [keys...], "val": [keys...]}``; a key is an image's path
under ``DCM/`` without its extension (``ID001/image1661130828152_R``).
"""
import json
from collections import Counter
from typing import Dict, List, Sequence

from mmseg_ext.utils.fileio.atomic_io import atomic_open


def group_kfold_assignment(groups: Sequence[str], num_folds: int) -> Dict[str, int]:
    """Assign every group to one of ``num_folds`` folds, numbered as scikit-learn's
    ``GroupKFold(n_splits=num_folds).split(X, groups=groups)`` yields its test sets.

    Groups are taken largest first (equal sizes: by name descending, as sklearn's
    ``np.argsort(sizes, kind='stable')[::-1]`` over the sorted names) and each goes to
    the fold holding the fewest samples so far (ties: the lowest fold index). A group
    never spans two folds.

    Args:
        groups (Sequence[str]): The group of each sample (e.g. ``ID001``).
        num_folds (int): Number of folds, at least 2 and at most the number
            of distinct groups.

    Returns:
        dict[str, int]: Group -> fold index.
    """
    sizes = Counter(groups)
    if not 2 <= num_folds <= len(sizes):
        raise ValueError(
            f'num_folds={num_folds} needs 2 <= num_folds <= {len(sizes)} '
            '(the number of ID folders)')
    fold_sizes = [0] * num_folds
    assignment = {}
    for group in sorted(sizes, key=lambda g: (sizes[g], g), reverse=True):
        fold = min(range(num_folds), key=lambda k: (fold_sizes[k], k))
        assignment[group] = fold
        fold_sizes[fold] += sizes[group]
    return assignment


def group_of(key: str) -> str:
    """``ID001/image_R`` -> ``ID001`` (the part before the first ``/``).

    Args:
        key (str): An image key.
    """
    return key.split('/')[0]


def split_of(keys: Sequence[str], num_folds: int) -> List[Dict[str, List[str]]]:
    """The split of :func:`group_kfold_assignment` (groups: the ID folder of each key).

    Args:
        keys (Sequence[str]): Image keys (``IDxxx/<image stem>``), each once.
        num_folds (int): Number of folds.

    Returns:
        list[dict]: One ``{'train': [...], 'val': [...]}`` per fold, keys sorted.
    """
    keys = sorted(keys)
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    if repeated:
        raise ValueError(f'split_of: key(s) given more than once: {repeated[:3]}')
    fold_of = group_kfold_assignment([group_of(k) for k in keys], num_folds)
    return [dict(train=[k for k in keys if fold_of[group_of(k)] != fold],
                 val=[k for k in keys if fold_of[group_of(k)] == fold])
            for fold in range(num_folds)]


def _examples(keys) -> str:
    keys = sorted(keys)
    return ', '.join(keys[:3]) + (f' and {len(keys) - 3} more' if len(keys) > 3 else '')


def check_split(split: object, path: str) -> None:
    """Stop unless ``split`` is a valid split (``path`` names it in the message).

    Valid: a list of at least 2 dicts with ``train`` and ``val`` lists of str, no key in
    both ``train`` and ``val`` of one fold, every key in exactly one ``val`` list.

    Args:
        split (object): The parsed JSON.
        path (str): The split file, for the message.

    Raises:
        ValueError: What is wrong, naming ``path``.
    """
    fix = 'a split file is a JSON list of {"train": [keys], "val": [keys]}, one per fold'
    if not isinstance(split, list) or len(split) < 2:
        raise ValueError(f'split file {path}: expected a list of at least 2 folds ({fix})')
    val_fold: Dict[str, int] = {}
    for k, fold in enumerate(split):
        if not isinstance(fold, dict) or any(
                not isinstance(fold.get(name), list)
                or not all(isinstance(key, str) for key in fold[name])
                for name in ('train', 'val')):
            raise ValueError(f'split file {path}: fold {k} is not a dict with "train" and '
                             f'"val" lists of image keys ({fix})')
        both = set(fold['train']) & set(fold['val'])
        if both:
            raise ValueError(f'split file {path}: fold {k} has {_examples(both)} in both '
                             'train and val: remove each from one of them')
        for key in fold['val']:
            if key in val_fold:
                raise ValueError(f'split file {path}: {key} is in the val lists of folds '
                                 f'{val_fold[key]} and {k}: each image validates in one fold')
            val_fold[key] = k
    never = {key for fold in split for key in fold['train']} - set(val_fold)
    if never:
        raise ValueError(f'split file {path}: {_examples(never)} in no val list: each image '
                         'validates in exactly one fold')


def read_split_file(path: str) -> List[Dict[str, List[str]]]:
    """Read and check a split file (:func:`check_split`).

    Args:
        path (str): The JSON split file.

    Returns:
        list[dict]: One ``{'train': [...], 'val': [...]}`` per fold.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Not JSON, or not a valid split; the message names ``path``.
    """
    try:
        with open(path) as f:
            split = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f'split file {path} does not exist') from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'split file {path}: not a readable JSON ({err}); write it again '
                         '(tools/kfold.py writes WORK_DIR/splits.json)') from err
    check_split(split, path)
    return split


def write_split_file(path: str, split: Sequence[Dict[str, Sequence[str]]]) -> None:
    """Write a split (e.g. :func:`split_of`'s) as JSON, atomically, after checking it.

    Args:
        path (str): The JSON file to write.
        split (Sequence[dict]): One ``{'train': [...], 'val': [...]}`` per fold.
    """
    split = [dict(train=list(fold['train']), val=list(fold['val'])) for fold in split]
    check_split(split, path)
    with atomic_open(path, 'w') as f:
        json.dump(split, f, indent=1)
        f.write('\n')
