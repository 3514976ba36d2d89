"""``recipe.json``: what ``tools/find_best.py`` chose on the out-of-fold predictions and
``tools/predict.py --recipe`` applies: the members (config and checkpoint paths relative
to the recipe, each with its weight per class and whether it predicts with TTA), the
threshold and the cleanup of each class, and the cross-validation figures behind them.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ..fileio.atomic_io import atomic_open

FORMAT_VERSION = 1


class RecipeError(ValueError):
    """A recipe that cannot be applied; the message names the file and what is wrong."""


@dataclass
class RecipeMember:
    """One checkpoint of the recipe.

    Args:
        config (str): Config file (absolute once read).
        checkpoint (str): Checkpoint file (absolute once read).
        weights (list[float]): Its weight for each class.
        tta (bool): Whether it predicts its config's TTA views.
    """
    config: str
    checkpoint: str
    weights: List[float]
    tta: bool = False


@dataclass
class Recipe:
    """A recipe.

    Args:
        classes (list[str]): The classes, in the submission's order.
        members (list[RecipeMember]): The checkpoints.
        thresholds (list[float]): Per class.
        cleanup (list[dict]): Per class, :func:`~mmseg_ext.utils.postprocessing.mask_cleanup.
            clean_mask` options ({}: none).
        cv (dict): The cross-validation figures (for the reader; not applied).
    """
    classes: List[str]
    members: List[RecipeMember]
    thresholds: List[float]
    cleanup: List[dict]
    cv: dict = field(default_factory=dict)

    def cleanup_steps(self) -> List[dict]:
        """The cleanup as :class:`~mmseg_ext.utils.postprocessing.mask_rule.MaskRule` steps:
        one per distinct option set, with the ``classes`` it applies to."""
        steps: Dict[str, dict] = {}
        for c, options in enumerate(self.cleanup):
            if options:
                step = steps.setdefault(json.dumps(options, sort_keys=True),
                                        dict(options, classes=[]))
                step['classes'].append(c)
        return list(steps.values())


def write_recipe(path: str, recipe: Recipe) -> None:
    """Write ``recipe`` atomically, member paths relative to the recipe's folder.

    Args:
        path (str): The recipe file.
        recipe (Recipe): What to write (member paths absolute or relative to the cwd).
    """
    folder = osp.dirname(osp.abspath(path))
    content = dict(
        format=FORMAT_VERSION, classes=list(recipe.classes),
        members=[dict(config=osp.relpath(osp.abspath(m.config), folder),
                      checkpoint=osp.relpath(osp.abspath(m.checkpoint), folder),
                      tta=bool(m.tta), weights=dict(zip(recipe.classes, map(float, m.weights))))
                 for m in recipe.members],
        thresholds=dict(zip(recipe.classes, map(float, recipe.thresholds))),
        cleanup={name: options for name, options in zip(recipe.classes, recipe.cleanup)
                 if options},
        cv=recipe.cv)
    with atomic_open(path, 'w') as f:
        json.dump(content, f, indent=1)


def _per_class(path: str, what: str, values: dict, classes: Sequence[str]) -> list:
    if not isinstance(values, dict) or sorted(values) != sorted(classes):
        raise RecipeError(f'{path}: {what} must name every class once (expected '
                          f'{len(classes)} classes)')
    return [values[name] for name in classes]


def read_recipe(path: str, classes: Optional[Sequence[str]] = None) -> Recipe:
    """The recipe at ``path``, member paths made absolute and checked to exist.

    Args:
        path (str): The recipe file.
        classes (Sequence[str], optional): Classes the recipe must have.

    Raises:
        RecipeError: Not a recipe, a member file missing, or other classes (named).
    """
    try:
        with open(path) as f:
            content = json.load(f)
    except FileNotFoundError as err:
        raise RecipeError(f'{path}: no such recipe (tools/find_best.py writes one)') from err
    except json.JSONDecodeError as err:
        raise RecipeError(f'{path}: not JSON ({err})') from err
    if not isinstance(content, dict) or content.get('format') != FORMAT_VERSION:
        raise RecipeError(f'{path}: not a recipe of format {FORMAT_VERSION} '
                          '(tools/find_best.py writes one)')
    names = list(content.get('classes') or [])
    if classes is not None and names != list(classes):
        raise RecipeError(f'{path}: its classes differ from the members\' ({len(names)} vs '
                          f'{len(classes)})')
    folder = osp.dirname(osp.abspath(path))
    members = []
    for index, entry in enumerate(content.get('members') or []):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str)
                                                  for k in ('config', 'checkpoint')):
            raise RecipeError(f'{path}: member #{index} needs "config" and "checkpoint" paths')
        files = [osp.normpath(osp.join(folder, entry[k])) for k in ('config', 'checkpoint')]
        for file in files:
            if not osp.isfile(file):
                raise RecipeError(f'{path}: member file {file} is missing (paths are relative '
                                  'to the recipe; keep the recipe beside the work dirs)')
        members.append(RecipeMember(*files, _per_class(path, 'member weights',
                                                       entry.get('weights'), names),
                                    bool(entry.get('tta', False))))
    if not members:
        raise RecipeError(f'{path}: no members')
    cleanup = content.get('cleanup') or {}
    unknown = sorted(set(cleanup) - set(names))
    if unknown:
        raise RecipeError(f'{path}: cleanup of unknown class(es) {unknown}')
    return Recipe(names, members, _per_class(path, 'thresholds', content.get('thresholds'),
                                             names),
                  [dict(cleanup.get(name) or {}) for name in names], content.get('cv') or {})
