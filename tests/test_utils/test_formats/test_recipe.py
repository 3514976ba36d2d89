"""``recipe.json``: the write/read round trip (member paths relative to the recipe in the
file, absolute once read), the errors that name what is wrong (a missing member file, another
format, other classes, a class without a weight or threshold), and ``cleanup_steps``."""
import json
import os
import os.path as osp
import re

import pytest

from mmseg_ext.utils.formats.recipe import (Recipe, RecipeError, RecipeMember, read_recipe,
                                            write_recipe)

CLASSES = ['a', 'b', 'c']


def _members(root):
    """Two members' dummy config and checkpoint files under ``root``; their paths."""
    paths = []
    for run in ('runA', 'runB'):
        folder = root / 'work_dirs' / run / 'fold0'
        folder.mkdir(parents=True)
        (folder / 'config.py').write_text('model = dict()\n')
        (folder / 'best.pth').write_bytes(b'weights')
        paths.append((str(folder / 'config.py'), str(folder / 'best.pth')))
    return paths


def _recipe(paths):
    (config_a, ckpt_a), (config_b, ckpt_b) = paths
    return Recipe(CLASSES,
                  [RecipeMember(config_a, ckpt_a, [1.0, 0.25, 0.0], tta=True),
                   RecipeMember(config_b, ckpt_b, [0.0, 0.75, 1.0])],
                  thresholds=[0.4, 0.5, 0.35],
                  cleanup=[{}, dict(keep_largest=True), dict(min_area=256)],
                  cv=dict(nested=0.93, in_sample=0.95))


def test_round_trip_paths_relative_in_the_file(tmp_path):
    paths = _members(tmp_path)
    path = str(tmp_path / 'out' / 'recipe.json')
    write_recipe(path, _recipe(paths))
    assert os.listdir(tmp_path / 'out') == ['recipe.json']  # written atomically, no temp left
    with open(path) as f:
        content = json.load(f)
    assert content['members'][0]['config'] == osp.join('..', 'work_dirs', 'runA', 'fold0',
                                                       'config.py')
    assert content['members'][1]['checkpoint'] == osp.join('..', 'work_dirs', 'runB', 'fold0',
                                                           'best.pth')
    assert content['members'][0]['weights'] == {'a': 1.0, 'b': 0.25, 'c': 0.0}
    assert content['thresholds'] == {'a': 0.4, 'b': 0.5, 'c': 0.35}
    assert content['cleanup'] == {'b': dict(keep_largest=True), 'c': dict(min_area=256)}
    recipe = read_recipe(path, CLASSES)
    assert recipe == _recipe(paths)
    for member in recipe.members:
        assert osp.isabs(member.config) and osp.isfile(member.config)
    assert [m.tta for m in recipe.members] == [True, False]


def test_paths_relative_to_the_cwd_are_kept_relative_to_the_recipe(tmp_path, monkeypatch):
    paths = _members(tmp_path)
    monkeypatch.chdir(tmp_path)
    relative = [tuple(osp.relpath(p, str(tmp_path)) for p in pair) for pair in paths]
    path = osp.join('out', 'recipe.json')
    write_recipe(path, _recipe(relative))
    monkeypatch.chdir(tmp_path / 'work_dirs')  # reading does not depend on the cwd
    recipe = read_recipe(str(tmp_path / 'out' / 'recipe.json'))
    assert [(m.config, m.checkpoint) for m in recipe.members] == paths


def test_missing_member_file_is_named(tmp_path):
    paths = _members(tmp_path)
    path = str(tmp_path / 'recipe.json')
    write_recipe(path, _recipe(paths))
    os.remove(paths[1][1])
    with pytest.raises(RecipeError, match=re.escape(f'member file {paths[1][1]} is missing')):
        read_recipe(path)


def _edited(tmp_path, edit):
    paths = _members(tmp_path)
    path = str(tmp_path / 'recipe.json')
    write_recipe(path, _recipe(paths))
    with open(path) as f:
        content = json.load(f)
    edit(content)
    with open(path, 'w') as f:
        json.dump(content, f)
    return path


@pytest.mark.parametrize('edit,message', [
    (lambda c: c.update(format=2), 'not a recipe of format 1'),
    (lambda c: c.pop('format'), 'not a recipe of format 1'),
    (lambda c: c['thresholds'].pop('b'), 'thresholds must name every class once'),
    (lambda c: c['members'][0]['weights'].update(d=1.0), 'member weights must name every'),
    (lambda c: c.update(members=[]), 'no members'),
    (lambda c: c['cleanup'].update(z=dict(fill_holes=True)), r"unknown class\(es\) \['z'\]"),
])
def test_malformed_recipe_is_refused(tmp_path, edit, message):
    path = _edited(tmp_path, edit)
    with pytest.raises(RecipeError, match=message) as info:
        read_recipe(path)
    assert path in str(info.value)


def test_other_files_and_classes_are_refused(tmp_path):
    path = _edited(tmp_path, lambda c: None)
    with pytest.raises(RecipeError, match='classes differ'):
        read_recipe(path, ['a', 'b'])
    with pytest.raises(RecipeError, match='classes differ'):
        read_recipe(path, ['c', 'b', 'a'])
    assert read_recipe(path, ('a', 'b', 'c')).classes == CLASSES
    with pytest.raises(RecipeError, match='no such recipe'):
        read_recipe(str(tmp_path / 'absent.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"format": 1,')
    with pytest.raises(RecipeError, match='not JSON'):
        read_recipe(str(broken))


def test_cleanup_steps_group_equal_options():
    cleanup = [dict(keep_largest=True), {}, dict(fill_holes=True, min_area=4),
               dict(keep_largest=True), dict(min_area=4, fill_holes=True), dict(min_area=4)]
    recipe = Recipe(list('abcdef'), [], [0.5] * 6, cleanup)
    assert recipe.cleanup_steps() == [dict(keep_largest=True, classes=[0, 3]),
                                      dict(fill_holes=True, min_area=4, classes=[2, 4]),
                                      dict(min_area=4, classes=[5])]
    assert 'classes' not in recipe.cleanup[0]  # the recipe's own options are not changed
    assert Recipe(CLASSES, [], [0.5] * 3, [{}, {}, {}]).cleanup_steps() == []
