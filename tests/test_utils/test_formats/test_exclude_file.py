"""The exclude file: what write_exclude_file writes, read_exclude_file (and so the
dataset's ``exclude_file``) reads back."""
import pytest

from mmseg_ext.utils.formats.exclude_file import read_exclude_file, write_exclude_file


def test_round_trip_with_comments(tmp_path):
    path = str(tmp_path / 'exclude.txt')
    entries = [('ID001/image1661130829152_R', 'score 12.0: finger-3 swap with finger-4'),
               ('ID007/image_with_underscores_L', ''), ('ID009', 'the whole ID\nsecond line')]
    assert write_exclude_file(path, entries, header='made by a test\nsecond line') == 3
    text = open(path).read()
    assert text.startswith('# made by a test\n# second line\n')
    assert '# score 12.0: finger-3 swap with finger-4\nID001/image1661130829152_R\n' in text
    assert '# the whole ID second line\nID009\n' in text
    assert read_exclude_file(path) == {'ID001/image1661130829152_R',
                                       'ID007/image_with_underscores_L', 'ID009'}


@pytest.mark.parametrize('key', ['', '# ID001', 'ID001\nID002', ' ID001', 'ID001\r'])
def test_a_key_that_would_read_back_differently_is_refused(tmp_path, key):
    path = tmp_path / 'exclude.txt'
    with pytest.raises(ValueError, match='cannot list key'):
        write_exclude_file(str(path), [(key, '')])
    assert not path.exists()  # nothing written half
