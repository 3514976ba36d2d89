"""The training/validation split recorded in every checkpoint."""
import os.path as osp
from typing import Iterator, List, Optional

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from mmseg_ext.datasets.hand_bone import HandBoneDataset


def hand_bone_datasets(dataset: object) -> Iterator[HandBoneDataset]:
    """Every :class:`HandBoneDataset` in ``dataset``, looking inside wrappers
    (``RepeatDataset``/``ClassBalancedDataset``: ``.dataset``; ``ConcatDataset``:
    ``.datasets``).

    Args:
        dataset (object): A dataset, wrapped or not; None yields nothing.
    """
    if isinstance(dataset, HandBoneDataset):
        yield dataset
        return
    for inner in getattr(dataset, 'datasets', None) or []:
        yield from hand_bone_datasets(inner)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from hand_bone_datasets(inner)


def _loader_dataset(runner, name: str) -> Optional[object]:
    """The dataset of ``runner.<name>``; None when the run has no such loader."""
    try:
        loader = getattr(runner, name)
    except AttributeError:  # mmengine's Runner: no loop of that kind (no val_dataloader)
        return None
    return getattr(loader, 'dataset', None)


def dataset_keys(dataset: object) -> List[str]:
    """The sorted image keys (``ID001/image1661130828152_R``) of every
    :class:`HandBoneDataset` in ``dataset``.

    Args:
        dataset (object): A dataset, wrapped or not, or None.
    """
    return sorted({key for inner in hand_bone_datasets(dataset) for key in inner.image_keys()})


@HOOKS.register_module()
class RecordSplitHook(Hook):
    """Writes the run's split into every checkpoint as ``checkpoint['meta']['split']``:
    ``dict(train=[keys], val=[keys], fold=..., num_folds=..., data_root=...)``.

    The keys (``ID001/image1661130828152_R``) are those of the training and validation
    datasets (exclusions removed; ``val=[]`` without a validation loader); ``fold``,
    ``num_folds`` and the absolute ``data_root`` are the training dataset's. Only lists,
    str, int and None: checkpoints load with ``weights_only=True``. Read it back with
    :func:`mmseg_ext.utils.fileio.checkpoint.checkpoint_split`. The keys are collected
    at the first checkpoint (the datasets do not change during a run).
    """
    priority = 'LOW'

    def __init__(self) -> None:
        self._split: Optional[dict] = None

    def _collect(self, runner) -> dict:
        train = _loader_dataset(runner, 'train_dataloader')
        val = _loader_dataset(runner, 'val_dataloader')
        first = next(hand_bone_datasets(train), None) or next(hand_bone_datasets(val), None)
        fold = None if first is None or first.fold is None else int(first.fold)
        return dict(train=dataset_keys(train), val=dataset_keys(val), fold=fold,
                    num_folds=None if first is None else int(first.num_folds),
                    data_root=None if first is None else osp.abspath(first.data_root))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Put the split in ``checkpoint['meta']['split']``.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint about to be saved.
        """
        if self._split is None:
            self._split = self._collect(runner)
        checkpoint.setdefault('meta', {})['split'] = {
            key: list(value) if isinstance(value, list) else value
            for key, value in self._split.items()}
