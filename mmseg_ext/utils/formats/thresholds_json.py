"""The per-class thresholds JSON ``{class: threshold}`` that ``--thresholds`` reads (written
by hand; ``tools/find_best.py`` puts the thresholds it chooses in its recipe)."""
import json
from typing import List, Sequence


def load_thresholds(path: str, class_names: Sequence[str], default: float = 0.5) -> List[float]:
    """One threshold per class from a JSON ``{class: threshold}``; missing ones get ``default``.

    Raises:
        ValueError: Unreadable JSON, an unknown class, or a value outside (0, 1);
            the message names the file.
    """
    try:
        with open(path) as f:
            values = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f'{path}: cannot read thresholds JSON ({err})') from err
    if not isinstance(values, dict):
        raise ValueError(f'{path}: expected an object {{"class": threshold}}')
    unknown = sorted(set(values) - set(class_names))
    if unknown:
        raise ValueError(f'{path}: unknown class(es) {unknown}')
    for name, value in values.items():
        if not isinstance(value, (int, float)) or not 0 < value < 1:
            raise ValueError(f'{path}: threshold of {name!r} must be in (0, 1), got {value!r}')
    return [float(values.get(name, default)) for name in class_names]
