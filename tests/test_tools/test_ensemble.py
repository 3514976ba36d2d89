import os
import os.path as osp
import textwrap

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmseg_ext.utils.formats.submission import check_submission, read_submission_masks
from tests.helpers import run_tool

pytestmark = pytest.mark.slow  # tiny_run and tools/predict.py processes


def _at_scale(config, scale, tmp_path):
    """The same config testing at another input size."""
    cfg = Config.fromfile(config)
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = scale
    path = str(tmp_path / 'other.py')
    cfg.dump(path)
    return path


def _ensemble(out_csv, image_root, *members, extra=(), env=None):
    """``tools/predict.py`` of ``members`` (CONFIG:CKPT[:WEIGHT]) -> {image name: masks}."""
    args = [arg for member in members for arg in ('--model', member)]
    run_tool('tools/predict.py', *args, '--image-root', image_root, '--submission',
             str(out_csv), *extra, env=env)
    return _masks(out_csv, image_root)


def _masks(csv_path, image_root):
    """{image name: (C, H, W) bool masks} decoded from a submission."""
    return {name: masks for name, _, masks in read_submission_masks(str(csv_path), image_root)}


def _differing(a, b):
    """Pixels (over all classes and images) where two decoded submissions differ."""
    assert a.keys() == b.keys()
    return sum(int((a[name] != b[name]).sum()) for name in a)


@pytest.fixture(scope='module')
def single_member(tiny_run, phantom_root, tmp_path_factory):
    """``tools/predict.py --model CONFIG:CKPT`` of ``tiny_run``: the CSV (a ``Path``)."""
    config, ckpt = tiny_run
    out = tmp_path_factory.mktemp('single_member') / 'single.csv'
    run_tool('tools/predict.py', '--model', f'{config}:{ckpt}', '--image-root',
             osp.join(phantom_root, 'test', 'DCM'), '--submission', str(out))
    return out


def test_single_member_equals_tools_test(single_member, tiny_submission):
    with open(tiny_submission[0], 'rb') as f:
        assert single_member.read_bytes() == f.read()


def test_weights_move_the_ensemble_from_one_member_to_the_other(tiny_run, single_member,
                                                                phantom_root, tmp_path):
    """Two members that differ (one checkpoint tested at 64 and at 96 px).

    Weight 1:0 writes exactly member A's submission and 0:1 exactly B's; a
    mixed weight keeps every pixel both members agree on and takes the others
    from one or the other (A and B <= mix <= A or B), and the more weight A
    gets, the closer the masks come to A's.
    """
    config, ckpt = tiny_run
    other = _at_scale(config, (96, 96), tmp_path)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    a = _masks(single_member, image_root)  # tools/predict.py --model CONFIG:CKPT
    b = _ensemble(tmp_path / 'b.csv', image_root, f'{other}:{ckpt}')
    assert _differing(a, b) > 100, 'the members must differ for weights to matter'

    mixes = {}
    for weight_a in (1.0, 0.75, 0.25, 0.0):
        out = tmp_path / f'mix_{weight_a}.csv'
        mixes[weight_a] = _ensemble(out, image_root, f'{config}:{ckpt}:{weight_a}',
                                    f'{other}:{ckpt}:{1 - weight_a}')
    assert (tmp_path / 'mix_1.0.csv').read_bytes() == single_member.read_bytes()
    assert (tmp_path / 'mix_0.0.csv').read_bytes() == (tmp_path / 'b.csv').read_bytes()
    assert check_submission(str(tmp_path / 'mix_0.75.csv'), image_root)['rows'] == 58

    for weight_a in (0.75, 0.25):
        mix = mixes[weight_a]
        for name in a:
            assert (a[name] & b[name] <= mix[name]).all(), 'agreed foreground lost'
            assert (mix[name] <= (a[name] | b[name])).all(), 'foreground neither member has'
        assert 0 < _differing(mix, a) < _differing(b, a), weight_a
        assert 0 < _differing(mix, b) < _differing(a, b), weight_a
    # A's share of the weight falls 1 -> 0.75 -> 0.25 -> 0: the masks drift from A to B
    to_a = [_differing(mixes[w], a) for w in (1.0, 0.75, 0.25, 0.0)]
    to_b = [_differing(mixes[w], b) for w in (1.0, 0.75, 0.25, 0.0)]
    assert to_a == sorted(to_a) and to_a[0] == 0, to_a
    assert to_b == sorted(to_b, reverse=True) and to_b[-1] == 0, to_b


# A stand-in for pydensecrf2 with a known answer: a pixel keeps its label where the
# probability says foreground (p > 1 - p) AND the image is bright (> BRIGHT), i.e. the
# "CRF" trims predictions to bright (bone) pixels. Put first on PYTHONPATH it shadows the
# real package in the tool's process, so the test knows exactly what --crf must write.
BRIGHT = 128
STANDIN_DENSECRF = textwrap.dedent(f'''
    import numpy as np


    class DenseCRF2D:
        def __init__(self, width, height, labels):
            assert labels == 2
            self.size = width * height

        def setUnaryEnergy(self, unary):
            self.unary = np.asarray(unary)  # (2, N): minus the label probabilities

        def addPairwiseGaussian(self, **kwargs):
            pass

        def addPairwiseBilateral(self, rgbim, **kwargs):
            self.bright = rgbim[..., 0].reshape(-1) > {BRIGHT}

        def inference(self, iterations):
            background, foreground = -self.unary
            keep = (foreground > background) & self.bright
            return np.stack([(~keep).astype(np.float32), keep.astype(np.float32)])
''')
STANDIN_UTILS = textwrap.dedent('''
    import numpy as np


    def unary_from_softmax(probs):
        return -np.asarray(probs, np.float32).reshape(len(probs), -1)
''')


def _standin_crf_env(tmp_path):
    package = tmp_path / 'standin' / 'pydensecrf'
    package.mkdir(parents=True)
    (package / '__init__.py').write_text('')
    (package / 'densecrf.py').write_text(STANDIN_DENSECRF)
    (package / 'utils.py').write_text(STANDIN_UTILS)
    env = dict(os.environ)
    env['PYTHONPATH'] = str(package.parent) + os.pathsep + env.get('PYTHONPATH', '')
    return env


def test_crf_refines_the_ensemble_masks_on_the_image(tiny_run, single_member, phantom_root,
                                                     tmp_path):
    """``--crf`` hands the ensemble's probabilities and the image to the dense CRF and
    writes its masks: with the stand-in CRF, exactly the plain masks on bright pixels.

    Fails when --crf is ignored (masks = plain), the CRF gets another image, a
    flipped or resized one, or other probabilities (masks != plain & bright).
    """
    config, ckpt = tiny_run
    image_root = osp.join(phantom_root, 'test', 'DCM')
    env = _standin_crf_env(tmp_path)
    plain = _masks(single_member, image_root)  # the same command without --crf
    crf = _ensemble(tmp_path / 'crf.csv', image_root, f'{config}:{ckpt}', extra=['--crf'],
                    env=env)
    assert check_submission(str(tmp_path / 'crf.csv'), image_root)['rows'] == 58
    paths = {name: path for name, path, _ in read_submission_masks(str(single_member),
                                                                   image_root)}
    trimmed = 0
    for name, masks in plain.items():
        bright = cv2.imread(paths[name], cv2.IMREAD_GRAYSCALE) > BRIGHT
        assert np.array_equal(crf[name], masks & bright[None]), name
        trimmed += int((masks & ~bright[None]).sum())
    assert trimmed > 0 and sum(int(m.sum()) for m in crf.values()) > 0, \
        'the stand-in must change some masks and keep some'


def test_single_member_keeps_its_thresholds_and_cleanup(tiny_run, tiny_submission,
                                                        phantom_root, tmp_path):
    """The member's test_cfg threshold (per class) and cleanup apply to the ensemble too."""
    config, ckpt = tiny_run
    cfg = Config.fromfile(config)
    cfg.model.test_cfg.update(threshold=[0.3 if i % 2 else 0.7 for i in range(29)],
                              cleanup=dict(keep_largest=True, min_area=4))
    tuned = str(tmp_path / 'tuned.py')
    cfg.dump(tuned)
    image_root = osp.join(phantom_root, 'test', 'DCM')
    run_tool('tools/test.py', tuned, ckpt, '--submission', str(tmp_path / 'test.csv'))
    run_tool('tools/predict.py', '--model', f'{tuned}:{ckpt}', '--image-root', image_root,
             '--submission', str(tmp_path / 'ens.csv'))
    with open(tiny_submission[0], 'rb') as f:  # tools/test.py CONFIG CKPT: plain settings
        assert (tmp_path / 'test.csv').read_bytes() != f.read()
    assert (tmp_path / 'ens.csv').read_bytes() == (tmp_path / 'test.csv').read_bytes()
