"""Grouped bar charts drawn with OpenCV (no plotting dependency), and the k-fold chart."""
from typing import Dict, Sequence

import cv2
import numpy as np

from mmseg_ext.utils.class_names import NUM_HAND_BONE_CLASSES, hand_bone_palette
from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes


def grouped_bar_chart(values: Dict[str, Sequence[float]], categories: Sequence[str],
                      title: str, low: float = 0.0, high: float = 1.0,
                      bar_width: int = 6) -> np.ndarray:
    """Draw one group of bars per category, one bar (colour) per series.

    Args:
        values (dict): Series name -> one value per category.
        categories (Sequence[str]): Category labels (x axis).
        title (str): Chart title (legend follows it).
        low (float): Value at the bottom of the axis.
        high (float): Value at the top of the axis.
        bar_width (int): Pixel width of one bar.

    Returns:
        np.ndarray: BGR uint8 image.
    """
    series = list(values)
    colours = hand_bone_palette()[::max(1, NUM_HAND_BONE_CLASSES // max(len(series), 1))]
    group = bar_width * len(series) + 6
    left, top, plot_h = 50, 40, 300
    width = max(left + group * len(categories) + 20, left + 9 * 40 + 40 * len(series))
    height = top + plot_h + 90
    img = np.full((height, width, 3), 255, np.uint8)
    for tick in np.linspace(low, high, 5):
        y = int(top + plot_h * (1 - (tick - low) / (high - low)))
        cv2.line(img, (left, y), (width - 10, y), (220, 220, 220), 1)
        cv2.putText(img, f'{tick:.2f}', (2, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
    for c, name in enumerate(categories):
        x0 = left + c * group
        for s, key in enumerate(series):
            v = float(np.clip(values[key][c], low, high))
            y = int(top + plot_h * (1 - (v - low) / (high - low)))
            colour = tuple(int(ch) for ch in colours[s % len(colours)][::-1])
            cv2.rectangle(img, (x0 + s * bar_width, y), (x0 + (s + 1) * bar_width - 1,
                          top + plot_h), colour, -1)
        label = np.full((12, 80, 3), 255, np.uint8)
        cv2.putText(label, name[:12], (0, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1)
        label = cv2.rotate(label, cv2.ROTATE_90_CLOCKWISE)
        h, w = label.shape[:2]
        x = min(x0 + group // 2 - w // 2, width - w)
        img[top + plot_h + 4:top + plot_h + 4 + h, x:x + w] = np.minimum(
            img[top + plot_h + 4:top + plot_h + 4 + h, x:x + w], label)
    cv2.putText(img, title, (left, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    x = left + 9 * len(title)
    for s, key in enumerate(series):
        colour = tuple(int(ch) for ch in colours[s % len(colours)][::-1])
        cv2.rectangle(img, (x, 14), (x + 10, 24), colour, -1)
        cv2.putText(img, key, (x + 14, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        x += 24 + 8 * len(key)
    return img


def write_fold_chart(path: str, per_fold: Dict[str, Sequence[float]],
                     classes: Sequence[str]) -> None:
    """Write the k-fold report's chart (Dice per class, a bar per fold) as a PNG, atomically;
    the axis starts 0.05 below the lowest value.

    Args:
        path (str): The PNG to write.
        per_fold (dict): Fold name -> Dice per class
            (:func:`~mmseg_ext.utils.formats.kfold_report.dice_per_fold`).
        classes (Sequence[str]): Class names, in order.
    """
    low = max(0.0, min(min(v) for v in per_fold.values()) - 0.05)
    chart = grouped_bar_chart(per_fold, classes, 'Dice per class and fold', low=low)
    atomic_write_bytes(cv2.imencode('.png', chart)[1].tobytes(), path)
