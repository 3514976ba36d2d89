"""Learning curves from scalars.json, resumed runs included."""
import json

import cv2

from mmseg_ext.engine.hooks.learning_curve_hook import learning_curve
from mmseg_ext.utils.formats.scalars_json import best_validation, read_scalars


def _run(work_dir, stamp, entries):
    folder = work_dir / stamp / 'vis_data'
    folder.mkdir(parents=True)
    (folder / 'scalars.json').write_text(''.join(json.dumps(e) + '\n' for e in entries))


def test_resumed_runs_merge_and_the_curve_is_drawn(tmp_path):
    _run(tmp_path, '20261201_100000', [dict(step=1, loss=2.0), dict(step=2, loss=1.5),
                                       dict(step=2, mDice=0.3), dict(step=3, loss=1.4)])
    # killed after step 3, resumed from the step-2 checkpoint: step 3 is logged again
    _run(tmp_path, '20261201_110000', [dict(step=3, loss=1.2), dict(step=4, loss=1.0),
                                       dict(step=4, mDice=0.6)])
    (tmp_path / '20261201_110000' / 'vis_data' / 'scalars.json').open('a').write('{"step": 5,')
    entries = read_scalars(str(tmp_path))
    assert [(e['step'], e.get('loss', e.get('mDice'))) for e in entries] == [
        (1, 2.0), (2, 1.5), (2, 0.3), (3, 1.2), (4, 1.0), (4, 0.6)]
    assert best_validation(str(tmp_path))['step'] == 4
    image = learning_curve(str(tmp_path))
    assert image.ndim == 3 and image.shape[0] > image.shape[1] / 2
    assert (image != 255).any(axis=2).sum() > 1000  # axes, lines and labels drawn
    ok, png = cv2.imencode('.png', image)
    assert ok and cv2.imdecode(png, cv2.IMREAD_COLOR) is not None


def test_nothing_logged_draws_nothing(tmp_path):
    assert learning_curve(str(tmp_path)) is None
