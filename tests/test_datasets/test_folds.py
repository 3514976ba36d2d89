"""Folds numbered as scikit-learn's GroupKFold; split files written, read and checked."""
import numpy as np
import pytest
from sklearn.model_selection import GroupKFold

from mmseg_ext.datasets.folds import (group_kfold_assignment, read_split_file, split_of,
                                      write_split_file)


def _sklearn_folds(groups, num_folds):
    """Group -> the index of the test set of sklearn's GroupKFold that holds it."""
    fold_of = {}
    splits = GroupKFold(n_splits=num_folds).split(np.zeros(len(groups)), groups=groups)
    for fold, (_, test) in enumerate(splits):
        for i in test:
            fold_of[groups[i]] = fold
    return fold_of


def test_equal_size_groups_are_numbered_as_sklearn():
    """400 IDs of 2 images, 5 folds: the old order (ties by name ascending) kept 80 of 400."""
    groups = [f'ID{i:03d}' for i in range(1, 401) for _ in range(2)]
    assert group_kfold_assignment(groups, 5) == _sklearn_folds(groups, 5)


@pytest.mark.parametrize('num_folds', [2, 3, 5])
def test_distinct_size_groups_are_numbered_as_sklearn(num_folds):
    rng = np.random.default_rng(0)
    sizes = rng.permutation(np.arange(1, 31))  # all distinct: no tie to break
    groups = [f'ID{i:03d}' for i, size in enumerate(sizes) for _ in range(size)]
    groups = [groups[i] for i in rng.permutation(len(groups))]  # sample order is free
    assert group_kfold_assignment(groups, num_folds) == _sklearn_folds(groups, num_folds)


def test_split_of_keeps_ids_whole_and_names_may_hold_underscores():
    keys = [f'ID{i:03d}/image_{j}_R' for i in range(6) for j in range(2)]
    split = split_of(keys, 3)
    fold_of = group_kfold_assignment([k.split('/')[0] for k in keys], 3)
    for k, fold in enumerate(split):
        assert sorted(fold['train'] + fold['val']) == sorted(keys)
        assert {key.split('/')[0] for key in fold['val']} == \
            {g for g, f in fold_of.items() if f == k}
    with pytest.raises(ValueError, match='more than once'):
        split_of(keys + keys[:1], 3)


def test_split_file_round_trip(tmp_path):
    keys = [f'ID{i:03d}/a_b_{i}' for i in range(4)]
    path = str(tmp_path / 'sub' / 'splits.json')
    write_split_file(path, split_of(keys, 2))
    assert read_split_file(path) == split_of(keys, 2)
    assert not [p for p in (tmp_path / 'sub').iterdir() if p.suffix == '.tmp']


@pytest.mark.parametrize('content,message', [
    ('{"train": []}', 'expected a list of at least 2 folds'),
    ('[{"train": [], "val": []}]', 'expected a list of at least 2 folds'),
    ('[{"train": ["a"], "val": ["b"]}, {"train": ["b"]}]', 'fold 1 is not a dict'),
    ('[{"train": ["a"], "val": [1]}, {"train": [], "val": ["a"]}]', 'fold 0 is not a dict'),
    ('[{"train": ["a"], "val": ["a"]}, {"train": [], "val": ["b"]}]', 'a in both train and val'),
    ('[{"train": [], "val": ["a"]}, {"train": [], "val": ["a"]}]', 'val lists of folds 0 and 1'),
    ('[{"train": ["c"], "val": ["a"]}, {"train": ["a"], "val": []}]', 'c in no val list'),
    ('[{"train": ', 'not a readable JSON'),
])
def test_bad_split_file_is_named(tmp_path, content, message):
    path = tmp_path / 'splits.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        read_split_file(str(path))
    assert str(path) in str(err.value)


def test_missing_split_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json does not exist'):
        read_split_file(str(tmp_path / 'nowhere.json'))


def test_bad_split_is_not_written(tmp_path):
    path = tmp_path / 'splits.json'
    with pytest.raises(ValueError, match='in both train and val'):
        write_split_file(str(path), [dict(train=['a'], val=['a']), dict(train=[], val=['b'])])
    assert not path.exists()
