"""Out-of-fold predictions: each fold's checkpoint predicts the validation images of its
own fold into ``WORK/fold{k}/oof/`` (:mod:`mmseg_ext.utils.formats.oof_file`), image by
image, atomically; a re-run makes only what is missing or was made by another checkpoint.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmseg_ext.utils.fileio.checkpoint import checkpoint_split
from mmseg_ext.utils.formats.oof_file import (OofRecord, oof_keys, oof_path, stored_matches,
                                              write_oof_file)
from mmseg_ext.utils.runtime.launch import read_config
from mmseg_ext.utils.runtime.progress import track


class SplitLeakError(ValueError):
    """A checkpoint asked to predict or be scored on an image it trained on, or whose
    training images are not known."""


class UnknownSplitError(SplitLeakError):
    """A checkpoint that records no training split."""


def validation_images(config: str, data_root: Optional[str] = None,
                      cfg_options: Optional[dict] = None) -> List[Tuple[str, str]]:
    """(key, path) of every image of the config's validation loader, in path order.

    Args:
        config (str): A fold's config (the run's dump: fold, folds, split file, exclusions).
        data_root (str, optional): The data root, if it moved since training.
        cfg_options (dict, optional): ``--cfg-options``.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_ext.datasets  # noqa: F401  (registers the dataset)
    cfg = read_config(config, cfg_options, data_root=data_root)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(dict(cfg.val_dataloader.dataset, pipeline=[]))  # paths only
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    return sorted(zip(dataset.image_keys(), paths))


def dataset_keys(dataset_cfg: dict) -> List[str]:
    """The image keys of a loader's dataset config (built without its pipeline).

    Args:
        dataset_cfg (dict): A ``*_dataloader.dataset`` config.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_ext.datasets  # noqa: F401  (registers the dataset)
    init_default_scope('mmseg')
    return sorted(DATASETS.build(dict(dataset_cfg, pipeline=[])).image_keys())


def check_not_trained_on(checkpoint: str, keys: Sequence[str], what: str) -> None:
    """Stop when ``checkpoint`` trained on one of the image ``keys``, by the split it
    recorded (:class:`~mmseg_ext.engine.hooks.RecordSplitHook`).

    Args:
        checkpoint (str): The checkpoint file.
        keys (Sequence[str]): Image keys (``IDxxx/<stem>``) it is asked to predict or be
            scored on.
        what (str): What those images are for, named in the message.

    Raises:
        SplitLeakError: The first key it trained on, and how many.
        UnknownSplitError: The checkpoint records no split: whether it trained on the
            images cannot be known.
    """
    split = checkpoint_split(checkpoint)
    if split is None:
        raise UnknownSplitError(
            f'{checkpoint} records no training split (made before mmseg_ext recorded one): '
            f'whether it trained on the {what} images cannot be checked; retrain it, or '
            'score it on a held-out data root with tools/test.py')
    trained = set(split['train'])
    leaked = [key for key in keys if key in trained]
    if leaked:
        raise SplitLeakError(
            f'{checkpoint} trained on {len(leaked)} of the {len(keys)} {what} images, e.g. '
            f'{leaked[0]} (its recorded split: fold {split.get("fold")} of '
            f'{split.get("num_folds")}); use the checkpoint of the fold that holds them out')


def predict_fold_oof(config: str, checkpoint: str, fold: int, oof_dir: str,
                     data_root: Optional[str] = None, tta: bool = False,
                     device: Optional[str] = None) -> List[str]:
    """Predict the fold's validation images that lack a current out-of-fold file.

    Files made by another checkpoint (the fold was retrained) or without/with TTA when
    ``tta`` says otherwise are made again; files of images that are no longer in the
    fold's validation are removed.

    Args:
        config (str): The fold's config (its run's dump).
        checkpoint (str): The fold's best checkpoint.
        fold (int): The fold index (written in each file).
        oof_dir (str): ``WORK/fold{k}/oof``.
        data_root (str, optional): The training data root, if it moved.
        tta (bool): Store the config's TTA views. Defaults to False.
        device (str, optional): Defaults to cuda if available, else cpu.

    Returns:
        list[str]: The keys of the fold's validation images (all have a file now).
    """
    images = validation_images(config, data_root)
    keys = [key for key, _ in images]
    check_not_trained_on(checkpoint, keys, f'fold {fold} validation')
    name = osp.basename(checkpoint)
    for stale in sorted(set(oof_keys(oof_dir)) - set(keys)) if osp.isdir(oof_dir) else []:
        os.remove(oof_path(oof_dir, stale))
    todo = [(key, path) for key, path in images
            if stored_matches(oof_path(oof_dir, key), name, tta) is None]
    if not todo:
        return keys
    from .ensemble import CheckpointMember
    member = CheckpointMember(config, checkpoint, device=device, tta=tta)
    classes = list(member.model.dataset_meta['classes'])
    done = len(images) - len(todo)
    for key, path in track(todo, what=f'fold {fold}: out-of-fold predictions'
                           + (f' ({done} of {len(images)} already made)' if done else '')):
        record = OofRecord(key, osp.basename(path), fold, name, tta, classes,
                           member.raw_views(path))
        write_oof_file(oof_path(oof_dir, key), record)
    return keys
