"""Phantom styles: the default draws the original phantoms; 'varied' and 'shifted' move
pose, bone contrast, noise and foreign objects, the shifted ones outside the varied range."""
import cv2
import numpy as np
import pytest

from mmseg_ext.datasets.phantoms import PHANTOM_STYLES, PhantomStyle, render_hand


def _measures(style_name: str, count: int = 6) -> dict:
    """Per image: |hand angle| (degrees, wrist to middle finger), background noise std,
    bone minus soft-tissue grey level, and bright pixels that no bone label covers."""
    rng = np.random.default_rng(0)
    out = {'angle': [], 'noise': [], 'contrast': [], 'foreign': []}
    for i in range(count):
        img, bones = render_hand(256, rng, left=i % 2 == 1, style=PHANTOM_STYLES[style_name])
        labels = np.zeros(img.shape, np.uint8)
        for pts in bones.values():
            cv2.fillPoly(labels, [np.rint(pts).astype(np.int32)], 1)
        hull = np.zeros(img.shape, np.uint8)
        cv2.fillPoly(hull, [cv2.convexHull(np.concatenate(list(bones.values())).astype(
            np.int32))], 1)
        wrist, finger = bones['Capitate'].mean(axis=0), bones['finger-8'].mean(axis=0)
        out['angle'].append(abs(np.degrees(np.arctan2(finger[0] - wrist[0],
                                                      wrist[1] - finger[1]))))
        background = img[:20, :20].astype(float) if i % 2 else img[:20, -20:].astype(float)
        out['noise'].append(background.std())
        tissue = (hull > 0) & (cv2.dilate(labels, np.ones((9, 9), np.uint8)) == 0)
        out['contrast'].append(img[labels > 0].mean() - img[tissue].mean())
        bright = cv2.GaussianBlur(img, (5, 5), 0) > np.percentile(img[labels > 0], 90)
        out['foreign'].append(int((bright & (cv2.dilate(labels, np.ones((7, 7), np.uint8))
                                             == 0)).sum()))
    return {k: np.array(v) for k, v in out.items()}


def test_default_style_is_the_original_phantoms():
    a = render_hand(128, np.random.default_rng(4), left=True)
    b = render_hand(128, np.random.default_rng(4), left=True, style=PhantomStyle())
    assert np.array_equal(a[0], b[0])
    assert all(np.array_equal(a[1][k], b[1][k]) for k in a[1])


def test_shifted_phantoms_lie_outside_the_varied_range():
    default, shifted = _measures('default'), _measures('shifted')
    assert default['angle'].max() < 25 < shifted['angle'].min()
    assert default['noise'].max() < 6 and shifted['noise'].min() > 10
    assert shifted['contrast'].max() < default['contrast'].min()
    assert (default['foreign'] == 0).all() and (shifted['foreign'] > 0).all()


@pytest.mark.parametrize('name', sorted(PHANTOM_STYLES))
def test_every_style_renders_29_bones_inside_the_image(name):
    img, bones = render_hand(128, np.random.default_rng(1), left=False,
                             style=PHANTOM_STYLES[name])
    assert img.shape == (128, 128) and img.dtype == np.uint8 and len(bones) == 29
    assert all((pts >= 0).all() and (pts <= 127).all() for pts in bones.values())
