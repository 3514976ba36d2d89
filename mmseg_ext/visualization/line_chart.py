"""Line charts drawn with OpenCV (no plotting dependency), e.g. learning curves."""
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

Series = Tuple[Sequence[float], Sequence[float]]
COLOURS = ((200, 80, 0), (0, 140, 255), (60, 160, 60), (160, 60, 160), (0, 0, 200))


def _ticks(low: float, high: float) -> np.ndarray:
    return np.linspace(low, high, 5)


def line_chart(series: Dict[str, Series], title: str, width: int = 640, height: int = 260,
               x_label: str = 'iteration') -> np.ndarray:
    """One panel: each named (x, y) series as a polyline (markers when short).

    Args:
        series (dict): Name -> (xs, ys); empty series are left out.
        title (str): Panel title (the legend follows it).
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        x_label (str): Label of the x axis.

    Returns:
        np.ndarray: BGR uint8 image.
    """
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 60, 15, 35, 35
    plot_w, plot_h = width - left - right, height - top - bottom
    drawn = {k: (np.asarray(x, float), np.asarray(y, float)) for k, (x, y) in series.items()
             if len(x)}
    xs = np.concatenate([x for x, _ in drawn.values()]) if drawn else np.zeros(1)
    ys = np.concatenate([y for _, y in drawn.values()]) if drawn else np.zeros(1)
    x0, x1 = float(xs.min()), float(max(xs.max(), xs.min() + 1))
    y0, y1 = float(np.nanmin(ys)), float(np.nanmax(ys))
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def point(x: float, y: float) -> Tuple[int, int]:
        return (int(left + plot_w * (x - x0) / (x1 - x0)),
                int(top + plot_h * (1 - (y - y0) / (y1 - y0))))

    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in _ticks(y0, y1):
        y = point(x0, tick)[1]
        cv2.line(img, (left, y), (width - right, y), (225, 225, 225), 1)
        cv2.putText(img, f'{tick:.3g}', (2, y + 4), font, 0.35, (0, 0, 0), 1)
    for tick in _ticks(x0, x1):
        x = point(tick, y0)[0]
        cv2.putText(img, f'{tick:.0f}', (x - 10, height - bottom + 14), font, 0.35, (0, 0, 0), 1)
    cv2.rectangle(img, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    cv2.putText(img, x_label, (width // 2 - 30, height - 6), font, 0.4, (0, 0, 0), 1)
    cv2.putText(img, title, (left, 22), font, 0.45, (0, 0, 0), 1)
    legend_x = left + 9 * len(title) + 10
    for i, (name, (x, y)) in enumerate(drawn.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = np.array([point(a, b) for a, b in zip(x, y) if np.isfinite(b)], np.int32)
        if len(points) > 1:
            cv2.polylines(img, [points], False, colour, 1, cv2.LINE_AA)
        if len(points) <= 50:
            for p in points:
                cv2.circle(img, tuple(int(v) for v in p), 3, colour, -1)
        cv2.rectangle(img, (legend_x, 12), (legend_x + 10, 22), colour, -1)
        cv2.putText(img, name, (legend_x + 14, 22), font, 0.4, (0, 0, 0), 1)
        legend_x += 24 + 8 * len(name)
    return img
