import json
import logging
import os
import os.path as osp
import shutil

import pytest

from mmseg_ext.datasets import HandBoneDataset
from mmseg_ext.datasets.folds import group_kfold_assignment
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.annotation_json import AnnotationError


def _dataset(root, **kwargs):
    return HandBoneDataset(data_root=root, pipeline=[], **kwargs)


def test_metainfo_has_29_classes_in_order_and_distinct_palette(phantom_root):
    ds = _dataset(osp.join(phantom_root, 'train'))
    assert ds.metainfo['classes'] == HAND_BONE_CLASSES
    assert ds.metainfo['classes'][19] == 'Trapezium' and ds.metainfo['classes'][-1] == 'Ulna'
    assert len({tuple(c) for c in ds.metainfo['palette']}) == 29


def test_samples_sorted_by_path_with_underscore_names(phantom_root):
    ds = _dataset(osp.join(phantom_root, 'train'))
    paths = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    assert paths == sorted(paths) and len(paths) == 10
    info = ds.get_data_info(0)
    assert info['image_name'].endswith('_R.png')
    assert info['seg_map_path'].endswith(info['image_name'][:-4] + '.json')
    assert len(info['gt_polygons']) == 29


def test_folds_partition_ids_and_never_split_one(phantom_root):
    root = osp.join(phantom_root, 'train')
    seen = []
    for fold in range(5):
        train = _dataset(root, fold=fold, num_folds=5, split='train')
        val = _dataset(root, fold=fold, num_folds=5, split='val')
        train_ids = {train.get_data_info(i)['group'] for i in range(len(train))}
        val_ids = {val.get_data_info(i)['group'] for i in range(len(val))}
        assert not train_ids & val_ids
        assert len(train) + len(val) == 10
        seen += [val.get_data_info(i)['img_path'] for i in range(len(val))]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 10


def test_group_kfold_is_deterministic_and_balanced():
    groups = [f'ID{i // 2:03d}' for i in range(40)] + ['ID999']
    first = group_kfold_assignment(groups, 5)
    assert first == group_kfold_assignment(list(reversed(groups)), 5)
    sizes = [sum(1 for g in groups if first[g] == k) for k in range(5)]
    assert max(sizes) - min(sizes) <= 2
    with pytest.raises(ValueError, match='num_folds'):
        group_kfold_assignment(['a', 'b'], 5)


def test_test_mode_needs_no_json(phantom_root):
    ds = _dataset(osp.join(phantom_root, 'test'), test_mode=True)
    assert len(ds) == 2 and 'gt_polygons' not in ds.get_data_info(0)


def test_exclude_file(phantom_root, tmp_path):
    exclude = tmp_path / 'exclude.txt'
    exclude.write_text('# artefacts\nID000\nID001/image1661130829152_R\n')
    ds = _dataset(osp.join(phantom_root, 'train'), exclude_file=str(exclude))
    names = [ds.get_data_info(i)['img_path'] for i in range(len(ds))]
    assert len(names) == 7 and not any('/ID000/' in n for n in names)


def _groups(dataset):
    return {dataset.get_data_info(i)['group'] for i in range(len(dataset))}


def test_exclusions_on_one_loader_keep_the_folds(phantom_root, tmp_path):
    """Folds are assigned before exclusions are removed: a train loader with exclusions
    and a val loader without them never share an ID, and together hold every ID."""
    root = osp.join(phantom_root, 'train')
    every_id = set(os.listdir(osp.join(root, 'DCM')))
    val_ids = _groups(_dataset(root, split='val', fold=0, num_folds=2))
    assert val_ids and val_ids < every_id
    for excluded in sorted(every_id - val_ids):  # each training ID in turn
        exclude = tmp_path / f'{excluded}.txt'
        exclude.write_text(excluded + '\n')
        train_ids = _groups(_dataset(root, split='train', fold=0, num_folds=2,
                                     exclude_file=str(exclude)))
        assert not train_ids & val_ids
        assert train_ids | val_ids | {excluded} == every_id


def _write_split(path, split):
    path.write_text(json.dumps(split))
    return str(path)


def test_split_file_gives_the_folds(phantom_root, tmp_path):
    """A hand-made split (not GroupKFold's): each loader takes its fold's keys from the file;
    exclusions are removed after the split."""
    root = osp.join(phantom_root, 'train')
    keys = _dataset(root).image_keys()
    assert len(keys) == 10 and all(k.count('/') == 1 and '_' in k for k in keys)
    split = [dict(train=keys[3:], val=keys[:3]), dict(train=keys[:3], val=keys[3:])]
    path = _write_split(tmp_path / 'splits.json', split)
    for fold in (0, 1):
        for part in ('train', 'val'):
            ds = _dataset(root, fold=fold, num_folds=2, split=part, split_file=path)
            assert ds.image_keys() == split[fold][part]
    exclude = tmp_path / 'exclude.txt'
    exclude.write_text(keys[0] + '\n')
    ds = _dataset(root, fold=0, num_folds=2, split='val', split_file=path,
                  exclude_file=str(exclude))
    assert ds.image_keys() == keys[1:3]
    assert len(_dataset(root, split_file=path)) == 10  # no fold: every image


def test_split_file_that_does_not_fit_is_named(phantom_root, tmp_path):
    root = osp.join(phantom_root, 'train')
    keys = _dataset(root).image_keys()
    path = _write_split(tmp_path / 'splits.json', [dict(train=keys[2:], val=keys[:2]),
                                                   dict(train=keys[:2], val=keys[2:])])
    with pytest.raises(ValueError, match=r'has 2 folds but num_folds=3: give --folds 2') as err:
        _dataset(root, fold=0, num_folds=3, split_file=path)
    assert path in str(err.value)
    missing = _write_split(tmp_path / 'missing.json', [dict(train=keys[2:-1], val=keys[:2]),
                                                       dict(train=keys[:2], val=keys[2:-1])])
    with pytest.raises(ValueError, match=f'image {keys[-1]} of .* is in neither train nor val '
                       'of fold 1 of split file') as err:
        _dataset(root, fold=1, num_folds=2, split_file=missing)
    assert missing in str(err.value)
    extra = _write_split(tmp_path / 'extra.json', [dict(train=keys[2:], val=keys[:2]),
                                                   dict(train=keys[:2], val=keys[2:] + ['ID9/x'])])
    with pytest.raises(ValueError, match=f'key ID9/x of fold 1 of split file {extra} has no '
                       'image'):
        _dataset(root, fold=1, num_folds=2, split='train', split_file=extra)


@pytest.fixture
def train_copy(phantom_root, tmp_path):
    root = tmp_path / 'train'
    shutil.copytree(osp.join(phantom_root, 'train'), root)
    return root


def _first_json(root):
    folder = sorted((root / 'outputs_json').iterdir())[0]
    return sorted(folder.iterdir())[0]


def test_image_without_json_is_named(train_copy):
    path = _first_json(train_copy)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=path.stem + '.*has no annotation'):
        _dataset(str(train_copy))


def test_json_without_image_is_named(train_copy):
    extra = train_copy / 'outputs_json' / 'ID000' / 'orphan_L.json'
    extra.write_text('{"annotations": []}')
    with pytest.raises(FileNotFoundError, match='orphan_L.json has no image'):
        _dataset(str(train_copy))


@pytest.mark.parametrize('annotation,message', [
    ({'label': 'finger-30', 'points': [[0, 0], [1, 0], [1, 1]]}, "unknown label 'finger-30'"),
    ({'label': 'Radius', 'points': [[0, 0], [1, 0]]}, 'at least 3'),
    ({'label': 'Radius', 'points': [[0, 0, 1], [1, 0, 1], [1, 1, 1]]}, r'\[x, y\] pairs'),
    ({'label': 'Radius', 'points': [['a', 0], [1, 0], [1, 1]]}, 'not numbers'),
    ({'label': 'Radius'}, 'needs "label" and "points"'),
])
def test_bad_annotation_is_named(train_copy, annotation, message):
    path = _first_json(train_copy)
    content = json.loads(path.read_text())
    content['annotations'].append(annotation)
    path.write_text(json.dumps(content))
    with pytest.raises(AnnotationError, match=message) as err:
        _dataset(str(train_copy))
    assert str(path) in str(err.value)


def test_corrupt_json_is_named(train_copy):
    path = _first_json(train_copy)
    path.write_text('{"annotations": [')
    with pytest.raises(AnnotationError, match='not a readable JSON'):
        _dataset(str(train_copy))


def test_missing_and_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        _dataset(str(tmp_path / 'nowhere'))
    os.makedirs(tmp_path / 'empty' / 'DCM')
    with pytest.raises(FileNotFoundError, match='no .png/.dcm images'):
        _dataset(str(tmp_path / 'empty'), test_mode=True)


def _shift_polygon(path, label, dx, dy):
    content = json.loads(path.read_text())
    for ann in content['annotations']:
        if ann['label'] == label:
            ann['points'] = [[x + dx, y + dy] for x, y in ann['points']]
    path.write_text(json.dumps(content))


def test_polygons_past_the_border_load_and_warn_once(train_copy, monkeypatch):
    """A Radius running past the bottom edge, a finger at x = -1: kept, one warning."""
    paths = sorted((train_copy / 'outputs_json').glob('*/*.json'))[:4]
    for path in paths[:3]:
        _shift_polygon(path, 'Radius', 0, 20)  # 128 px phantoms: past the bottom
    content = json.loads(paths[3].read_text())
    content['annotations'][0]['points'][0][0] = -1
    paths[3].write_text(json.dumps(content))
    import mmseg_ext.datasets.hand_bone as hand_bone
    logged = []
    monkeypatch.setattr(hand_bone, 'print_log',
                        lambda msg, logger=None, level=None: logged.append((msg, level)))
    ds = _dataset(str(train_copy))
    warnings = [msg for msg, level in logged if level == logging.WARNING]
    assert len(warnings) == 1
    assert '4 polygon(s) in 4 annotation file(s)' in warnings[0]
    assert str(paths[0]) in warnings[0]
    from mmseg_ext.datasets.transforms import LoadHandBoneAnnotations, LoadXRayImage
    sample = LoadHandBoneAnnotations()(LoadXRayImage()(ds.get_data_info(0)))
    radius = HAND_BONE_CLASSES.index('Radius')
    assert ((sample['gt_seg_map'] >> radius) & 1).any()


def test_polygon_of_another_image_size_is_named(train_copy):
    path = _first_json(train_copy)
    _shift_polygon(path, 'Ulna', 1000, 1000)
    with pytest.raises(AnnotationError, match='no point inside the 128x128 image') as err:
        _dataset(str(train_copy))
    assert str(path) in str(err.value)


def test_duplicate_test_image_names_are_refused_naming_both(phantom_root, tmp_path):
    root = tmp_path / 'test'
    shutil.copytree(osp.join(phantom_root, 'test'), root)
    first = sorted((root / 'DCM').glob('*/*.png'))[0]
    other = root / 'DCM' / 'ID999' / first.name
    other.parent.mkdir()
    shutil.copy(first, other)
    with pytest.raises(ValueError, match='two test images are named') as err:
        _dataset(str(root), test_mode=True)
    assert str(first) in str(err.value) and str(other) in str(err.value)


def test_an_exclude_file_that_leaves_nothing_is_named(phantom_root, tmp_path):
    exclude = tmp_path / 'everything.txt'
    exclude.write_text(''.join(f'ID{i:03d}\n' for i in range(5)))
    with pytest.raises(ValueError, match=f'exclude_file {exclude} leaves out all 10 images'):
        _dataset(osp.join(phantom_root, 'train'), exclude_file=str(exclude))
