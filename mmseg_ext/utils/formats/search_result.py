"""The ensemble search result JSON (``search_ensemble.py`` writes, ``ensemble.py --search-json``
reads): members, per-class thresholds and per-class member weights."""
import json
from typing import Dict, Sequence

from ..fileio.atomic_io import atomic_open


class SearchResultError(ValueError):
    """Raised for a search result that cannot be used; the message names the file."""


def write_search_result(path: str, models: Sequence[str], classes: Sequence[str],
                        thresholds: Sequence[float], class_weights: Sequence[Sequence[float]],
                        **scores: float) -> None:
    """Write an ensemble search result (``tools/analysis_tools/search_ensemble.py``).

    Args:
        path (str): JSON to write (atomically).
        models (Sequence[str]): The members' ``CONFIG:CKPT`` in order.
        classes (Sequence[str]): Class names.
        thresholds (Sequence[float]): One threshold per class.
        class_weights (Sequence[Sequence[float]]): Per class, one weight per member.
        **scores: Validation figures to record (e.g. ``val_mdice``).
    """
    content = {'models': list(models),
               'thresholds': {c: float(t) for c, t in zip(classes, thresholds)},
               'class_weights': {c: [float(w) for w in ws]
                                 for c, ws in zip(classes, class_weights)},
               **{k: float(v) for k, v in scores.items()}}
    with atomic_open(path, 'w') as f:
        json.dump(content, f, indent=2)


def read_search_result(path: str, classes: Sequence[str], num_members: int) -> Dict[str, list]:
    """``thresholds`` (one per class) and ``class_weights`` ((K, C) nested list) of a search.

    Raises:
        SearchResultError: Unreadable JSON, a missing class, or weights for another
            number of members; the message names the file.
    """
    try:
        with open(path) as f:
            content = json.load(f)
        thresholds = [float(content['thresholds'][c]) for c in classes]
        per_class = [content['class_weights'][c] for c in classes]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SearchResultError(f'{path}: not an ensemble search result ({err!r})') from err
    if any(len(w) != num_members for w in per_class):
        raise SearchResultError(f'{path}: weights for {len(per_class[0])} models, '
                                f'{num_members} given')
    return {'thresholds': thresholds,
            'class_weights': [[w[k] for w in per_class] for k in range(num_members)]}
