"""Deterministic GroupKFold assignment (the scikit-learn algorithm, no dependency)."""
from collections import Counter
from typing import Dict, Sequence


def group_kfold_assignment(groups: Sequence[str], num_folds: int) -> Dict[str, int]:
    """Assign every group to one of ``num_folds`` folds.

    Groups are taken largest first (ties by name) and each goes to the fold
    holding the fewest samples so far (ties: the lowest fold index), as
    scikit-learn's ``GroupKFold`` does. A group never spans two folds.

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
    for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
        fold = min(range(num_folds), key=lambda k: (fold_sizes[k], k))
        assignment[group] = fold
        fold_sizes[fold] += sizes[group]
    return assignment
