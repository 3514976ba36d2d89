"""The --model syntax parsed from the right, members.txt, and the member checks."""
from types import SimpleNamespace

import pytest

from mmseg_ext.apis.member import (Member, MemberError, MemberSpec, check_same_classes,
                                   parse_member, read_members_file, write_members_file)


@pytest.mark.parametrize('spec, expected', [
    ('a/cfg.py:a/best.pth', MemberSpec('checkpoint', 'a/cfg.py', 'a/best.pth', 1.0)),
    ('cfg.py:best.pth:0.5', MemberSpec('checkpoint', 'cfg.py', 'best.pth', 0.5)),
    ('cfg.py:https://host:8080/w/best.pth', MemberSpec('checkpoint', 'cfg.py',
                                                       'https://host:8080/w/best.pth', 1.0)),
    ('cfg.py:https://host/best.pth:2', MemberSpec('checkpoint', 'cfg.py',
                                                  'https://host/best.pth', 2.0)),
    ('dir:with:colons/cfg.py:ck:pt.pth', MemberSpec('checkpoint', 'dir:with:colons/cfg.py',
                                                    'ck:pt.pth', 1.0)),
    ('m/model.onnx', MemberSpec('exported', 'm/model.onnx', None, 1.0)),
    ('m:x/model.xml:0.25', MemberSpec('exported', 'm:x/model.xml', None, 0.25)),
])
def test_parse_member_from_the_right(spec, expected):
    assert parse_member(spec) == expected
    assert parse_member(str(expected)) == expected  # str() writes the --model syntax


@pytest.mark.parametrize('spec', ['cfg.py', 'best.pth', 'cfg.py:', 'model.pt:0.5', ''])
def test_parse_member_refuses_other_forms(spec):
    with pytest.raises(MemberError, match='neither CONFIG.py:CKPT'):
        parse_member(spec)


def test_members_file_round_trip_and_errors(tmp_path):
    work = tmp_path / 'kf'
    for fold in (0, 1):
        (work / f'fold{fold}').mkdir(parents=True)
        (work / f'fold{fold}' / 'cfg.py').write_text('')
        (work / f'fold{fold}' / 'best.pth').write_text('')
    specs = [MemberSpec.checkpoint_member(str(work / f'fold{k}' / 'cfg.py'),
                                          str(work / f'fold{k}' / 'best.pth')) for k in (0, 1)]
    write_members_file(str(work / 'members.txt'), specs)
    text = (work / 'members.txt').read_text()
    assert 'fold0/cfg.py:fold0/best.pth' in text and str(tmp_path) not in text  # relative
    assert read_members_file(str(work / 'members.txt')) == specs  # resolved to the file's folder

    bad = tmp_path / 'bad.txt'
    bad.write_text('# members\n\nkf/fold0/cfg.py:kf/fold0/best.pth\nnot a member\n')
    with pytest.raises(MemberError, match=f'{bad}:4: .*neither'):
        read_members_file(str(bad))
    bad.write_text('kf/fold0/cfg.py:kf/fold0/missing.pth\n')
    with pytest.raises(MemberError, match=f'{bad}:1: .*missing.pth: no such file'):
        read_members_file(str(bad))
    bad.write_text('# nothing\n')
    with pytest.raises(MemberError, match='no member'):
        read_members_file(str(bad))
    with pytest.raises(MemberError, match='no such file'):
        read_members_file(str(tmp_path / 'absent.txt'))


def test_members_with_different_classes_are_refused():
    def member(classes):
        return SimpleNamespace(weight=1.0, mask_rule=None, add_probs=lambda *a: None,
                               views=lambda *a: None,
                               model=SimpleNamespace(dataset_meta=dict(classes=classes)))
    a, b = member(['x', 'y']), member(['x', 'z'])
    assert isinstance(a, Member)
    specs = [parse_member('a.py:a.pth'), parse_member('b.py:b.pth')]
    assert check_same_classes([a, a], specs) == ['x', 'y']
    with pytest.raises(MemberError, match='a.py:a.pth .*b.py:b.pth .*different class lists'):
        check_same_classes([a, b], specs)
