"""mmengine's ``scalars.json`` (``LocalVisBackend``): one JSON object per logged step."""
import glob
import json
import os.path as osp
from typing import Dict, List


def read_scalars(work_dir: str) -> List[dict]:
    """Every entry of every run's ``WORK_DIR/<timestamp>/vis_data/scalars.json``.

    A resumed training writes a new timestamp folder; the runs are read in
    time order and a later entry of the same ``step`` and kind (training
    losses, or validation metrics with ``mDice``) replaces an earlier one.

    Args:
        work_dir (str): The training work dir.

    Returns:
        list[dict]: Entries sorted by ``step`` (training before validation at
        the same step).
    """
    by_key: Dict[tuple, dict] = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill: the run resumes from a checkpoint
                if isinstance(entry, dict) and 'step' in entry:
                    by_key[(int(entry['step']), is_validation(entry))] = entry
    return [by_key[k] for k in sorted(by_key)]


def is_validation(entry: dict) -> bool:
    """A validation entry (it carries ``mDice``), not a training one."""
    return 'mDice' in entry


def best_validation(work_dir: str, metric: str = 'mDice') -> dict:
    """The validation entry with the highest ``metric``.

    Raises:
        RuntimeError: The work dir has no validation entry.
    """
    entries = [e for e in read_scalars(work_dir) if metric in e]
    if not entries:
        raise RuntimeError(f'{work_dir}: no validation metrics ({metric}) in its scalars.json')
    return max(entries, key=lambda e: e[metric])
