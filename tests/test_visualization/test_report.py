"""mmseg_ext.visualization.report: worst pairs, overlays; HD95 in figure titles."""
import numpy as np

from mmseg_ext.visualization.panels import FALSE_NEGATIVE, FALSE_POSITIVE, _scores_text
from mmseg_ext.visualization.report import GT_OUTLINE, PRED_OUTLINE, pair_overlay, worst_pairs


def test_worst_pairs_skip_pairs_empty_in_both():
    dice = np.array([[0.9, 0.1, 1.0], [0.5, 0.7, 0.2]])
    hd95 = np.array([[3.0, 40.0, np.nan], [9.0, 1.0, 12.0]])
    worst = worst_pairs(dice, hd95, count=2)
    assert worst['hd95'] == [(0, 1), (1, 2)]
    assert worst['dice'] == [(0, 1), (1, 2)]
    assert (0, 2) not in worst_pairs(dice, hd95, count=6)['dice']


def test_pair_overlay_zooms_on_the_box_and_shows_errors():
    image = np.full((400, 300), 100, np.uint8)
    gt = np.zeros((400, 300), bool)
    gt[100:140, 50:90] = True
    pred = np.roll(gt, 10, axis=1)
    zoom, whole = pair_overlay(image, pred, gt, side=320)
    assert max(zoom.shape[:2]) == 320 and whole.shape[:2] == (400, 300)
    colours = {tuple(c) for c in zoom.reshape(-1, 3)}
    assert {GT_OUTLINE, PRED_OUTLINE} <= colours
    red = np.all(np.abs(zoom.astype(int) - np.array(FALSE_POSITIVE)) < 90, axis=2)
    blue = np.all(np.abs(zoom.astype(int) - np.array(FALSE_NEGATIVE)) < 90, axis=2)
    assert red.any() and blue.any()


def test_titles_carry_mean_dice_and_hd95():
    assert _scores_text([0.9, 0.8], [2.0, np.nan]) == ', Dice 0.850, HD95 2.0 px'
    assert _scores_text([1.0], [np.nan]) == ', Dice 1.000, HD95 n/a'
    assert _scores_text(None, None) == ''
