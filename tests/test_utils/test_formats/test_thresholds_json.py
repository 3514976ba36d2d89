"""The thresholds JSON that --thresholds reads."""
import json

import pytest

from mmseg_ext.utils.formats.thresholds_json import load_thresholds

CLASSES = ('a', 'b', 'c')


def test_round_trip_and_defaults(tmp_path):
    path = str(tmp_path / 't.json')
    with open(path, 'w') as f:
        json.dump({'a': 0.25, 'c': 0.75}, f)
    assert load_thresholds(path, CLASSES) == [0.25, 0.5, 0.75]  # missing: the default
    assert load_thresholds(path, CLASSES, default=0.4)[1] == 0.4


@pytest.mark.parametrize('content,message', [
    ('{"z": 0.5}', "unknown class"),
    ('{"a": 1.5}', "threshold of 'a' must be in \\(0, 1\\)"),
    ('[0.5]', 'expected an object'),
    ('{', 'cannot read thresholds JSON'),
])
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    with pytest.raises(ValueError, match='bad.json: ' + message):
        load_thresholds(str(path), CLASSES)
