"""The hand-bone X-ray dataset (29 overlapping classes)."""
import inspect
import logging
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES, hand_bone_palette
from mmseg_ext.utils.fileio.file_scan import paths_by_name, scan_files
from mmseg_ext.utils.fileio.xray_io import read_xray_shape
from mmseg_ext.utils.formats.annotation_json import (count_polygons_past_border,
                                                     parse_annotation_file)
from mmseg_ext.utils.formats.exclude_file import read_exclude_file

from .folds import group_kfold_assignment, read_split_file


def _strip_suffix(path: str) -> str:
    """``ID001/image_R.png`` -> ``ID001/image_R`` (never splits on ``_``)."""
    return osp.splitext(path)[0]


def _first(keys: List[str]) -> str:
    """``a`` or ``a (and 2 more)``, for messages."""
    return keys[0] + (f' (and {len(keys) - 1} more)' if len(keys) > 1 else '')


@DATASETS.register_module()
class HandBoneDataset(BaseSegDataset):
    """Hand X-rays with polygon annotations of 29 overlapping bones.

    Layout under ``data_root``: ``DCM/IDxxx/<name>.png|.dcm`` and, for
    training/validation, ``outputs_json/IDxxx/<name>.json``. Each sample's
    ``gt_polygons`` (parsed and validated here against the image size read
    from the file header, so a bad file fails at start-up rather than
    mid-epoch) are rasterised by ``LoadHandBoneAnnotations``. Polygons that
    reach past the image border are clipped when rasterised, with one warning
    per dataset naming how many files and the first few; a polygon with no
    point inside its image is an error. In test mode two images with the same
    base name are an error: the submission is keyed by it.

    Args:
        data_root (str): Folder holding the ``DCM`` (and ``outputs_json``) folders.
        data_prefix (dict): Sub-folders for images (``img_path``) and
            annotations (``seg_map_path``). Defaults to ``DCM``/``outputs_json``.
        img_suffixes (Sequence[str]): Image file endings. Defaults to
            ``('.png', '.dcm')``.
        fold (int, optional): Fold index for a GroupKFold split by the ``IDxxx``
            folder; None uses every image.
        num_folds (int): Number of folds. Defaults to 5.
        split (str): ``'train'`` (every fold but ``fold``) or ``'val'`` (only
            ``fold``). Ignored when ``fold`` is None.
        split_file (str, optional): JSON split file (nnU-Net's ``splits_final.json``
            form: one ``{"train": [keys], "val": [keys]}`` per fold, keys such as
            ``ID001/image1661130828152_R``; ``tools/kfold.py`` writes one). With
            ``fold``, that fold's ``train``/``val`` keys are used instead of the
            GroupKFold assignment; ``num_folds`` must equal its number of folds, and
            every image must be in that fold's ``train`` or ``val`` and every key of
            them an image. None: the GroupKFold assignment.
        exclude_file (str, optional): Text file listing IDs (``ID058``) or
            images (``ID058/image1661130828152_R``), one a line, to leave out.
        test_mode (bool): Images only; no annotation files are needed.
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(classes=HAND_BONE_CLASSES, palette=hand_bone_palette())

    def __init__(self,
                 data_root: str,
                 data_prefix: dict = dict(img_path='DCM', seg_map_path='outputs_json'),
                 img_suffixes: Sequence[str] = ('.png', '.dcm'),
                 fold: Optional[int] = None,
                 num_folds: int = 5,
                 split: str = 'train',
                 split_file: Optional[str] = None,
                 exclude_file: Optional[str] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        unknown = set(kwargs) - set(inspect.signature(BaseSegDataset.__init__).parameters)
        if unknown:
            raise TypeError(f'HandBoneDataset got unexpected argument(s) {sorted(unknown)}')
        if split not in ('train', 'val'):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        if fold is not None and not 0 <= fold < num_folds:
            raise ValueError(f'fold={fold} is outside 0..{num_folds - 1}')
        self.img_suffixes = tuple(s.lower() for s in img_suffixes)
        self.fold = fold
        self.num_folds = num_folds
        self.split = split
        self.split_file = split_file
        self.exclude_file = exclude_file
        super().__init__(
            data_root=data_root, data_prefix=data_prefix, test_mode=test_mode, **kwargs)

    def _image_dir(self) -> str:
        img_dir = self.data_prefix.get('img_path', '')
        if not self.data_root or not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'HandBoneDataset: image folder {img_dir!r} does not exist '
                f'(data_root={self.data_root!r}; the tools take the data root as --data-root DIR)')
        return img_dir

    def image_keys(self) -> List[str]:
        """The key of every sample (``ID001/image1661130828152_R``: its image path under
        the image folder, without the extension), in sample order."""
        img_dir = self.data_prefix.get('img_path', '')
        return [_strip_suffix(osp.relpath(self.get_data_info(i)['img_path'], img_dir))
                for i in range(len(self))]

    def _excluded(self) -> set:
        if self.exclude_file is None:
            return set()
        return read_exclude_file(self.exclude_file)

    def _select_fold(self, keys: List[str]) -> List[str]:
        if self.fold is None:
            return keys
        if self.split_file is not None:
            return self._select_from_split_file(keys)
        fold_of = group_kfold_assignment([k.split('/')[0] for k in keys], self.num_folds)
        want_val = self.split == 'val'
        return [k for k in keys if (fold_of[k.split('/')[0]] == self.fold) == want_val]

    def _select_from_split_file(self, keys: List[str]) -> List[str]:
        """``keys`` in this fold's ``train`` or ``val`` list of :attr:`split_file`."""
        split = read_split_file(self.split_file)
        if len(split) != self.num_folds:
            raise ValueError(
                f'HandBoneDataset: split file {self.split_file} has {len(split)} folds but '
                f'num_folds={self.num_folds}: give --folds {len(split)} or another split file')
        fold = split[self.fold]
        listed = set(fold['train']) | set(fold['val'])
        where = f'fold {self.fold} of split file {self.split_file}'
        fix = ('give the split file of this data root, or write a new one (tools/kfold.py '
               'writes WORK_DIR/splits.json)')
        unlisted, imageless = sorted(set(keys) - listed), sorted(listed - set(keys))
        if unlisted:
            raise ValueError(f'HandBoneDataset: image {_first(unlisted)} of {self.data_root} '
                             f'is in neither train nor val of {where}: {fix}')
        if imageless:
            raise ValueError(f'HandBoneDataset: key {_first(imageless)} of {where} has no '
                             f'image in {self._image_dir()}: {fix}')
        chosen = set(fold[self.split])
        return [k for k in keys if k in chosen]

    def _check_pairs(self, img_files: List[str], ann_dir: str) -> None:
        """Every image needs a JSON and every JSON an image (training data)."""
        img_keys = {_strip_suffix(p) for p in img_files}
        ann_keys = {_strip_suffix(p) for p in scan_files(ann_dir, ('.json',))}
        for key in sorted(img_keys - ann_keys):
            raise FileNotFoundError(
                f'HandBoneDataset: image {key} has no annotation file '
                f'{osp.join(ann_dir, key + ".json")}')
        for key in sorted(ann_keys - img_keys):
            raise FileNotFoundError(
                f'HandBoneDataset: annotation {osp.join(ann_dir, key + ".json")} '
                f'has no image in {self.data_prefix["img_path"]}')

    @staticmethod
    def _warn_past_border(files: List[str], polygons: int) -> None:
        if files:
            print_log(
                f'HandBoneDataset: {polygons} polygon(s) in {len(files)} annotation file(s) '
                f'reach past the image border and are clipped to it, e.g. '
                f'{", ".join(files[:3])}', logger='current', level=logging.WARNING)

    def load_data_list(self) -> List[dict]:
        """Scan the image folder (sorted by path) and parse the annotations."""
        img_dir = self._image_dir()
        img_files = scan_files(img_dir, self.img_suffixes)
        if not img_files:
            raise FileNotFoundError(
                f'HandBoneDataset: no {"/".join(self.img_suffixes)} images under {img_dir}')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        if not self.test_mode:
            self._check_pairs(img_files, ann_dir)
        excluded = self._excluded()
        class_to_index = {name: i for i, name in enumerate(self.metainfo['classes'])}
        by_key = {_strip_suffix(p): p for p in img_files}
        # Folds are assigned over every image, then exclusions removed: a loader with
        # exclusions keeps the fold assignment of one without (no ID in train and val).
        chosen = self._select_fold(sorted(by_key))
        selected = [key for key in chosen
                    if key not in excluded and key.split('/')[0] not in excluded]
        if chosen and not selected:
            raise ValueError(f'HandBoneDataset: exclude_file {self.exclude_file} leaves out all '
                             f'{len(chosen)} images of this split; remove lines from it')
        data_list, past_border_files, past_border = [], [], 0
        for key in selected:
            info = dict(
                img_path=osp.join(img_dir, by_key[key]),
                image_name=osp.basename(by_key[key]),
                group=key.split('/')[0],
                label_map=self.label_map,
                reduce_zero_label=False,
                seg_fields=[])
            if not self.test_mode:
                info['seg_map_path'] = osp.join(ann_dir, key + '.json')
                info['gt_polygons'] = parse_annotation_file(info['seg_map_path'], class_to_index)
                past = count_polygons_past_border(
                    info['gt_polygons'], read_xray_shape(info['img_path']), info['seg_map_path'])
                if past:
                    past_border_files.append(info['seg_map_path'])
                    past_border += past
            data_list.append(info)
        if self.test_mode:
            paths_by_name([info['img_path'] for info in data_list], 'test images')
        self._warn_past_border(past_border_files, past_border)
        return data_list
