"""What ``tools/evaluate.py`` writes beside its scores: ``per_class.csv``/``.png``
(:func:`write_outputs`) and a static HTML report (:func:`write_report`, opens from
disk, no server).

``index.html`` holds the per-class table (sortable by clicking a header),
per-class charts, and the worst (image, class) pairs by HD95 and by Dice as
zoomed overlays: ground-truth outline green, prediction outline yellow,
false positives red, false negatives blue; each links to the whole image.
"""
import html
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmseg_ext.evaluation.boundary import BOUNDARY_KEYS
from mmseg_ext.evaluation.metrics.boundary_metric import nan_mean
from mmseg_ext.evaluation.submission_eval import (Evaluation, EvaluationPlan, ground_truth_bits,
                                                  iter_submission_masks, write_per_class_csv)
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import atomic_open, atomic_write_bytes
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.masks.boxes import bounding_box, box_union

from .bar_chart import grouped_bar_chart
from .panels import FALSE_NEGATIVE, FALSE_POSITIVE

GT_OUTLINE = (40, 220, 40)     # RGB green
PRED_OUTLINE = (255, 230, 0)   # RGB yellow
Pair = Tuple[int, int]  # (image index, class index)


def worst_pairs(dice: np.ndarray, hd95: np.ndarray, count: int = 20
                ) -> Dict[str, List[Pair]]:
    """The ``count`` (image, class) pairs with the highest HD95 and the lowest Dice.

    Pairs empty in both prediction and ground truth (HD95 NaN) are left out.

    Args:
        dice (np.ndarray): (N, C) Dice.
        hd95 (np.ndarray): (N, C) HD95, NaN where both masks are empty.
        count (int): Pairs per list.
    """
    valid = ~np.isnan(hd95.ravel())
    flat = np.flatnonzero(valid)
    by_hd95 = flat[np.argsort(-hd95.ravel()[flat], kind='stable')][:count]
    by_dice = flat[np.argsort(dice.ravel()[flat], kind='stable')][:count]
    to_pairs = lambda idx: [divmod(int(i), dice.shape[1]) for i in idx]  # noqa: E731
    return {'hd95': to_pairs(by_hd95), 'dice': to_pairs(by_dice)}


def _draw(image: np.ndarray, pred: np.ndarray, gt: np.ndarray, thickness: int) -> np.ndarray:
    """Grey image with error fills and both outlines, RGB."""
    rgb = np.repeat(image[..., None], 3, axis=2).astype(np.float32) * 0.8
    for mask, colour in ((pred & ~gt, FALSE_POSITIVE), (gt & ~pred, FALSE_NEGATIVE)):
        rgb[mask] = 0.45 * rgb[mask] + 0.55 * np.asarray(colour, np.float32)
    rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    for mask, colour in ((gt, GT_OUTLINE), (pred, PRED_OUTLINE)):
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(rgb, contours, -1, colour, thickness)
    return rgb


def _resize(image: np.ndarray, pred: np.ndarray, gt: np.ndarray, scale: float):
    """Image (area or linear) and masks (nearest) scaled by ``scale``."""
    size = (max(1, int(round(image.shape[1] * scale))),
            max(1, int(round(image.shape[0] * scale))))
    masks = [cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
             for m in (pred, gt)]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return (cv2.resize(image, size, interpolation=interpolation), *masks)


def pair_overlay(image: np.ndarray, pred: np.ndarray, gt: np.ndarray,
                 side: int = 320) -> Tuple[np.ndarray, np.ndarray]:
    """The class's box zoomed to ``side`` pixels, and the whole image (at most 1024
    pixels a side) with the box drawn: (zoom RGB, whole RGB).

    Args:
        image (np.ndarray): (H, W) uint8 X-ray.
        pred (np.ndarray): (H, W) bool prediction of the class.
        gt (np.ndarray): (H, W) bool ground truth of the class.
        side (int): Longer side of the zoomed crop.
    """
    height, width = image.shape
    box = box_union((bounding_box(pred), bounding_box(gt)))
    if box is not None:
        y0, y1, x0, x1 = box
        margin = max(8, (y1 - y0 + x1 - x0) // 10)
        y0, y1 = max(y0 - margin, 0), min(y1 + margin, height)
        x0, x1 = max(x0 - margin, 0), min(x1 + margin, width)
    else:
        y0, y1, x0, x1 = 0, height, 0, width
    crop = [a[y0:y1, x0:x1] for a in (image, pred, gt)]
    zoom = _draw(*_resize(*crop, side / max(y1 - y0, x1 - x0)), thickness=2)
    scale = min(1.0, 1024 / max(height, width))
    whole = _draw(*_resize(image, pred, gt, scale), thickness=1)
    cv2.rectangle(whole, (int(x0 * scale), int(y0 * scale)),
                  (int(x1 * scale) - 1, int(y1 * scale) - 1), (255, 255, 255), 1)
    return zoom, whole


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB image as PNG atomically."""
    ok, data = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f'{path}: cannot encode the PNG')
    atomic_write_bytes(data.tobytes(), path)


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; background: #fafafa; color: #222; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; }
th { cursor: pointer; background: #eee; user-select: none; } td.num { text-align: right; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: 330px; } figure img { max-width: 320px; border: 1px solid #999; }
figcaption { font-size: 12px; } .key span { padding: 0 6px; margin-right: 8px; color: #fff; }
"""
_SORT_SCRIPT = """
document.querySelectorAll('#TABLE th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#TABLE tbody');
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.dataset.order !== 'asc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
      return asc ? r : -r;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    document.querySelectorAll('#TABLE th').forEach(function (h) { h.dataset.order = ''; });
    th.dataset.order = asc ? 'asc' : 'desc';
  });
});
"""


def _sort_script(table_id: str) -> str:
    """The script that sorts table ``table_id`` by the column whose header is clicked."""
    return _SORT_SCRIPT.replace('TABLE', table_id)


def table_cell(value, digits: int = 4) -> str:
    """One ``<td>`` with its sort key: text as is, a number with ``digits`` decimals
    (NaN shown as n/a).

    Args:
        value (str | float): The cell's value.
        digits (int): Decimals of a number.
    """
    if isinstance(value, str):
        return f'<td data-v="{html.escape(value)}">{html.escape(value)}</td>'
    text = 'n/a' if np.isnan(value) else f'{value:.{digits}f}'
    sort_key = '' if np.isnan(value) else repr(float(value))
    return f'<td class="num" data-v="{sort_key}">{text}</td>'


def class_table_html(classes: Sequence[str], summary: Dict[str, np.ndarray]) -> str:
    """The sortable per-class table."""
    head = ''.join(f'<th>{h}</th>' for h in ('class', 'Dice', 'HD95 (px)', 'NSD', 'misses',
                                             'hallucinations'))
    rows = []
    for c, name in enumerate(classes):
        rows.append('<tr>' + table_cell(name) + table_cell(summary['dice'][c]) +
                    table_cell(summary['hd95'][c], 2) + table_cell(summary['nsd'][c]) +
                    table_cell(float(summary['misses'][c]), 0) +
                    table_cell(float(summary['hallucinations'][c]), 0) + '</tr>')
    return (f'<table id="classes"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _gallery(title: str, items: Iterable[Tuple[str, str, str]]) -> str:
    figures = ''.join(
        f'<figure><a href="{whole}"><img src="{zoom}" alt="{html.escape(caption)}"></a>'
        f'<figcaption>{html.escape(caption)}</figcaption></figure>'
        for zoom, whole, caption in items)
    return f'<h2>{html.escape(title)}</h2><div class="grid">{figures}</div>'


def write_report_page(report_dir: str, title: str, classes: Sequence[str],
                      summary: Dict[str, np.ndarray],
                      galleries: Sequence[Tuple[str, Sequence[Tuple[str, str, str]]]],
                      notes: Optional[Sequence[str]] = None) -> str:
    """Write the charts and ``index.html`` into ``report_dir``; returns the page's path.

    Args:
        report_dir (str): Output folder (the galleries' images are already in it).
        title (str): Page title.
        classes (Sequence[str]): Class names.
        summary (dict): Per-class ``dice``, ``hd95``, ``nsd``, ``misses``,
            ``hallucinations`` (C,) arrays.
        galleries (Sequence): (heading, [(zoom src, whole src, caption)]) pairs,
            sources relative to ``report_dir``.
        notes (Sequence[str], optional): Lines shown under the title.
    """
    dice_chart = grouped_bar_chart({'Dice': summary['dice'], 'NSD': np.nan_to_num(
        summary['nsd'])}, classes, 'Dice and NSD per class')
    hd95 = np.nan_to_num(summary['hd95'])
    hd_chart = grouped_bar_chart({'HD95': hd95}, classes, 'HD95 per class (px)', low=0.0,
                                 high=max(float(hd95.max()), 1.0))
    write_png(osp.join(report_dir, 'chart_dice_nsd.png'), dice_chart[..., ::-1])
    write_png(osp.join(report_dir, 'chart_hd95.png'), hd_chart[..., ::-1])
    key = ''.join(f'<span style="background: rgb{colour}">{name}</span>' for name, colour in (
        ('ground truth', GT_OUTLINE), ('prediction', PRED_OUTLINE),
        ('false positive', FALSE_POSITIVE), ('false negative', FALSE_NEGATIVE)))
    body = [f'<h1>{html.escape(title)}</h1>']
    body += [f'<p>{html.escape(line)}</p>' for line in notes or ()]
    body += ['<h2>Per class</h2><p>Click a column header to sort.</p>',
             class_table_html(classes, summary),
             '<h2>Charts</h2><img src="chart_dice_nsd.png" alt="Dice and NSD per class"> '
             '<img src="chart_hd95.png" alt="HD95 per class">',
             f'<p class="key">{key}</p>']
    body += [_gallery(heading, items) for heading, items in galleries]
    return write_html_page(osp.join(report_dir, 'index.html'), title, body, 'classes')


def write_html_page(path: str, title: str, body: Sequence[str], table_id: str) -> str:
    """Write a report page atomically: the report's style, ``body`` and the script that
    sorts table ``table_id``; returns ``path``.

    Args:
        path (str): The HTML file.
        title (str): The page title.
        body (Sequence[str]): HTML fragments, in order.
        table_id (str): The ``id`` of the sortable table.
    """
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
            f'</title><style>{_STYLE}</style></head><body>{"".join(body)}'
            f'<script>{_sort_script(table_id)}</script></body></html>')
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return path


def write_outputs(out_dir: str, classes: Sequence[str], evaluation: Evaluation) -> List[str]:
    """``per_class.csv`` and ``per_class.png`` (Dice and NSD bars) in ``out_dir``.

    Args:
        out_dir (str): An existing folder.
        classes (Sequence[str]): Class names in channel order.
        evaluation (Evaluation): The scored submission
            (:func:`~mmseg_ext.evaluation.submission_eval.evaluate_submission`).

    Returns:
        list[str]: The two paths written.
    """
    summary = evaluation.summary
    csv_path = osp.join(out_dir, 'per_class.csv')
    write_per_class_csv(csv_path, classes, summary)
    chart = grouped_bar_chart({'Dice': summary['dice'], 'NSD': np.nan_to_num(summary['nsd'])},
                              classes, 'Dice and NSD per class')
    png_path = osp.join(out_dir, 'per_class.png')
    write_png(png_path, chart[..., ::-1])
    return [csv_path, png_path]


def write_report(report_dir: str, plan: EvaluationPlan, evaluation: Evaluation,
                 classes: Sequence[str] = HAND_BONE_CLASSES, count: int = 20) -> str:
    """``report_dir/index.html`` with the worst ``count`` pairs by HD95 and by Dice
    drawn (their images are decoded again, one at a time).

    Args:
        report_dir (str): Folder of the page and its ``images/``.
        plan (EvaluationPlan): What was scored (the CSV and the labelled images).
        evaluation (Evaluation): Its scores.
        classes (Sequence[str]): Class names in channel order.
        count (int): Pairs drawn per list.

    Returns:
        str: The page's path.
    """
    hd95 = evaluation.boundary[:, BOUNDARY_KEYS.index('hd95')]
    worst = worst_pairs(evaluation.dice, hd95, count)
    wanted: Dict[str, List[int]] = {}
    for image_index, class_index in worst['hd95'] + worst['dice']:
        wanted.setdefault(evaluation.names[image_index], []).append(class_index)
    files: Dict[Tuple[str, int], Tuple[str, str]] = {}
    for name, pred in iter_submission_masks(plan, classes, only=set(wanted)):
        image = read_xray(plan.labelled[name].image_path)
        bits = ground_truth_bits(plan.labelled[name], len(classes))
        for c in sorted(set(wanted[name])):
            stem = f'{osp.splitext(name)[0]}_{classes[c]}'
            zoom, whole = pair_overlay(image, pred[c], ((bits >> c) & 1).astype(bool))
            files[(name, c)] = (f'images/{stem}_zoom.png', f'images/{stem}_whole.png')
            write_png(osp.join(report_dir, files[(name, c)][0]), zoom)
            write_png(osp.join(report_dir, files[(name, c)][1]), whole)
        del pred, bits
    galleries = []
    for key, heading in (('hd95', f'{count} worst by HD95'), ('dice', f'{count} worst by Dice')):
        items = []
        for i, c in worst[key]:
            name = evaluation.names[i]
            caption = (f'{name} / {classes[c]}: Dice {evaluation.dice[i, c]:.3f}, '
                       f'HD95 {hd95[i, c]:.1f} px')
            items.append(files[(name, c)] + (caption, ))
        galleries.append((heading, items))
    notes = [f'{len(evaluation.names)} images scored from {plan.csv_path}.',
             f'Mean Dice {evaluation.summary["dice"].mean():.4f}, mean HD95 '
             f'{nan_mean(evaluation.summary["hd95"]):.2f} px; misses '
             f'{int(evaluation.summary["misses"].sum())}, hallucinations '
             f'{int(evaluation.summary["hallucinations"].sum())}.']
    return write_report_page(report_dir, 'Submission report', classes, evaluation.summary,
                             galleries, notes)
