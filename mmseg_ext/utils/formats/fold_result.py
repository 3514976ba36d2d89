"""``fold_result.json``: a finished k-fold training run (``tools/kfold.py``): writer and reader.

Its presence in a fold's work dir means the fold finished; a re-run of the
same k-fold command skips it.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, Optional

from ..fileio.atomic_io import atomic_open

FILENAME = 'fold_result.json'


@dataclass
class FoldResult:
    """One finished fold.

    Args:
        fold (int): The validation fold.
        num_folds (int): Folds of the split.
        data_root (str): Absolute training data root.
        config (str): Config to predict with (the run's dumped config).
        checkpoint (str): Best checkpoint by validation mDice.
        metrics (dict): That validation's metrics (``mDice``, ``Dice.<class>`` ...).
    """
    fold: int
    num_folds: int
    data_root: str
    config: str
    checkpoint: str
    metrics: Dict[str, float] = field(default_factory=dict)


def write_fold_result(work_dir: str, result: FoldResult) -> None:
    """Write ``WORK_DIR/fold_result.json`` atomically."""
    with atomic_open(osp.join(work_dir, FILENAME), 'w') as f:
        json.dump(asdict(result), f, indent=1)


def read_fold_result(work_dir: str) -> Optional[FoldResult]:
    """The fold's result, or None when the fold has not finished.

    Raises:
        ValueError: The file exists but is not a fold result (names it).
    """
    path = osp.join(work_dir, FILENAME)
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            return FoldResult(**json.load(f))
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(f'{path}: not a fold result ({err}); remove it to retrain the fold') \
            from err
