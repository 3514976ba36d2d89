"""The ensemble search result JSON: what search_ensemble.py writes, predict.py reads."""
import json

import pytest

from mmseg_ext.utils.formats.search_result import (SearchResultError, read_search_result,
                                                   write_search_result)

CLASSES = ('a', 'b', 'c')


def test_round_trip_transposes_per_class_weights(tmp_path):
    path = str(tmp_path / 's.json')
    write_search_result(path, ['x.py:x.pth', 'y.py:y.pth'], CLASSES, [0.4, 0.5, 0.6],
                        [[1, 0], [0.25, 0.75], [0.5, 0.5]], val_mdice=0.9)
    result = read_search_result(path, CLASSES, 2)
    assert result['thresholds'] == [0.4, 0.5, 0.6]
    assert result['class_weights'] == [[1, 0.25, 0.5], [0, 0.75, 0.5]]  # (K, C)
    assert json.load(open(path))['val_mdice'] == 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == ['s.json']  # no temporary left


def test_errors_name_the_file(tmp_path):
    path = str(tmp_path / 's.json')
    write_search_result(path, ['x', 'y'], CLASSES, [0.5] * 3, [[0.5, 0.5]] * 3)
    with pytest.raises(SearchResultError, match='s.json: weights for 2 models, 3 given'):
        read_search_result(path, CLASSES, 3)
    with pytest.raises(SearchResultError, match="s.json: not an ensemble search result"):
        read_search_result(path, CLASSES + ('d', ), 2)
