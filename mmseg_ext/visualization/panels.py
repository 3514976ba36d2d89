"""Figures a person reads at a glance: titled panels, a class legend, an error panel,
and anatomical findings drawn on a prediction."""
from typing import Optional, Sequence

import cv2
import numpy as np

FALSE_POSITIVE = (230, 40, 40)   # RGB red: predicted, not in the ground truth
FALSE_NEGATIVE = (40, 90, 255)   # RGB blue: in the ground truth, missed
FINDING_COLOUR = (255, 230, 0)   # RGB yellow outline of a flagged bone


def _font_scale(width: int) -> float:
    return max(0.4, width / 1400)


def _text(img: np.ndarray, text: str, origin, scale: float, colour=(255, 255, 255)) -> None:
    thickness = max(1, int(round(scale * 2)))
    x, y = origin
    for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):  # a dark halo, same glyph widths
        cv2.putText(img, text, (x + dx, y + dy), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    cv2.putText(img, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness,
                cv2.LINE_AA)


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """An (H, W, 3) RGB panel with a title bar above it."""
    scale = _font_scale(panel.shape[1])
    bar = np.full((int(40 * scale) + 12, panel.shape[1], 3), 32, np.uint8)
    _text(bar, title, (8, bar.shape[0] - 10), scale)
    return np.concatenate([bar, panel], axis=0)


def legend(classes: Sequence[str], palette: Sequence[Sequence[int]], height: int,
           values: Optional[Sequence[float]] = None, value_name: str = 'Dice') -> np.ndarray:
    """A column of colour swatches with class names (and a value each, e.g. Dice)."""
    scale = _font_scale(height) * 0.9
    row = int(height / (len(classes) + 2))
    width = int(row * 9 + (row * 3 if values is not None else 0))
    out = np.full((height, width, 3), 24, np.uint8)
    header = 'class' + (f'  {value_name}' if values is not None else '')
    _text(out, header, (6, int(row * 0.8)), scale)
    for i, name in enumerate(classes):
        y = (i + 1) * row
        cv2.rectangle(out, (6, y + 3), (6 + row - 6, y + row - 3), tuple(map(int, palette[i])), -1)
        label = name if values is None else f'{name}  {values[i]:.3f}'
        _text(out, label, (row + 6, y + int(row * 0.75)), scale)
    if values is not None:
        y = (len(classes) + 1) * row
        _text(out, f'mean  {float(np.mean(values)):.3f}', (row + 6, y + int(row * 0.75)), scale)
    return out


def error_panel(image: np.ndarray, pred: np.ndarray, gt: np.ndarray,
                alpha: float = 0.7) -> np.ndarray:
    """False positives (red) and false negatives (blue) of any class on the grey image."""
    base = np.repeat(image[..., None], 3, axis=2).astype(np.float32) * 0.6
    false_pos = (pred & ~gt).any(axis=0)
    false_neg = (gt & ~pred).any(axis=0)
    for mask, colour in ((false_pos, FALSE_POSITIVE), (false_neg, FALSE_NEGATIVE)):
        base[mask] = (1 - alpha) * base[mask] + alpha * np.asarray(colour, np.float32)
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)


def draw_findings(panel: np.ndarray, masks: np.ndarray, findings: Sequence,
                  classes: Sequence[str]) -> np.ndarray:
    """Outline each flagged class on ``panel``, labelled with its name and findings."""
    out = panel.copy()
    scale = _font_scale(panel.shape[1])
    thickness = max(2, panel.shape[1] // 400)
    kinds: dict = {}
    for finding in findings:
        kinds.setdefault(finding.class_name, []).append(finding.kind)
    missing_row = out.shape[0] - 10
    for name, found in kinds.items():
        label = f'{name}: {", ".join(dict.fromkeys(found))}'
        mask = masks[list(classes).index(name)].astype(np.uint8)
        if not mask.any():
            _text(out, label, (8, missing_row), scale, FINDING_COLOUR)
            missing_row -= int(30 * scale) + 6
            continue
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, FINDING_COLOUR, thickness)
        x, y, _, _ = cv2.boundingRect(np.concatenate(contours))
        _text(out, label, (x, max(y - 6, 20)), scale, FINDING_COLOUR)
    return out


def side_by_side(panels: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Panels of equal height in a row, separated by a dark gap."""
    height = max(p.shape[0] for p in panels)
    row = []
    for p in panels:
        if p.shape[0] < height:
            p = np.concatenate([p, np.zeros((height - p.shape[0], ) + p.shape[1:], np.uint8)])
        row += [p, np.zeros((height, gap, 3), np.uint8)]
    return np.concatenate(row[:-1], axis=1)


def _scores_text(dice: Optional[Sequence[float]], hd95: Optional[Sequence[float]]) -> str:
    """``', Dice 0.912, HD95 3.4 px'`` for a title ('' without scores)."""
    text = ''
    if dice is not None:
        text += f', Dice {float(np.mean(dice)):.3f}'
    if hd95 is not None:
        finite = np.asarray(hd95, np.float64)
        finite = finite[~np.isnan(finite)]
        text += f', HD95 {finite.mean():.1f} px' if finite.size else ', HD95 n/a'
    return text


def prediction_figure(image: np.ndarray, pred: np.ndarray, classes: Sequence[str],
                      palette: Sequence[Sequence[int]], name: str,
                      gt: Optional[np.ndarray] = None, findings: Sequence = (),
                      dice: Optional[Sequence[float]] = None,
                      hd95: Optional[Sequence[float]] = None) -> np.ndarray:
    """Ground truth | prediction (findings outlined) | errors, and a class legend.

    Args:
        image (np.ndarray): (H, W) uint8 X-ray.
        pred (np.ndarray): (C, H, W) bool prediction.
        classes (Sequence[str]): Class names.
        palette (Sequence): One RGB colour per class.
        name (str): Image name for the titles.
        gt (np.ndarray, optional): (C, H, W) bool ground truth: adds its panel
            and the error panel.
        findings (Sequence): :class:`mmseg_ext.evaluation.anatomy.Finding` s to
            draw on the prediction.
        dice (Sequence[float], optional): Per-class Dice shown in the legend
            (its mean in the prediction's title).
        hd95 (Sequence[float], optional): Per-class HD95 in pixels (NaN where
            both masks are empty): its mean goes in the prediction's title
            beside the mean Dice.
    """
    from .overlay import overlay_masks
    prediction = draw_findings(overlay_masks(image, pred, palette), pred, findings, classes)
    title = f'{name}: prediction' + (f' ({len(findings)} findings)' if findings else '')
    title += _scores_text(dice, hd95)
    panels = [titled(prediction, title)]
    if gt is not None:
        panels.insert(0, titled(overlay_masks(image, gt, palette), f'{name}: ground truth'))
        panels.append(titled(error_panel(image, pred, gt),
                             'errors: false positive red, false negative blue'))
    panels.append(legend(classes, palette, panels[0].shape[0], dice))
    return side_by_side(panels)
