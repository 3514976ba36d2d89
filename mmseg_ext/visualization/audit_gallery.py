"""What ``tools/audit_labels.py`` writes: ``audit.csv`` (every audited (image, bone) pair)
and ``index.html``, a static gallery in the style of the evaluation report (opens from
disk): each flagged pair of the most suspicious images zoomed with the label outline
(green) against the out-of-fold prediction (yellow, probability 0.5), linking to the whole
image, then every image in a sortable table, ranked by its most suspicious pair.
"""
import csv
import html
import os
import os.path as osp
import urllib.parse
from typing import Dict, List, Sequence

import cv2
import numpy as np

from mmseg_ext.evaluation.label_audit import AuditInput, AuditResult, audit_planes
from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.fileio.xray_io import read_xray

from .panels import FALSE_NEGATIVE, FALSE_POSITIVE
from .report import GT_OUTLINE, PRED_OUTLINE, pair_overlay, table_cell, write_html_page, write_png

AUDIT_CSV_FIELDS = ('image', 'class', 'score', 'kind', 'partner')
PAIRS_PER_IMAGE = 6


def write_audit_csv(path: str, result: AuditResult) -> int:
    """``audit.csv``: one row per audited (image, class), images ranked (most suspicious
    first), each image's classes by score; written atomically. Returns the rows written.

    Args:
        path (str): The CSV file.
        result (AuditResult): The audit.
    """
    rows = 0
    with atomic_open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(AUDIT_CSV_FIELDS)
        for i in result.ranking():
            scores = np.nan_to_num(result.scores[i], nan=0.0)
            for c in sorted(range(len(result.classes)), key=lambda c: (-scores[c], c)):
                writer.writerow([result.names[i], result.classes[c], f'{scores[c]:.3f}',
                                 result.kinds[i][c], result.partners[i][c]])
                rows += 1
    return rows


def _pair_caption(result: AuditResult, i: int, c: int) -> str:
    partner = f' with {result.partners[i][c]}' if result.partners[i][c] else ''
    return (f'{result.names[i]} - {result.classes[c]}: {result.kinds[i][c]}{partner}, '
            f'score {result.scores[i, c]:.1f} ({result.details[i][c]})')


def _image_on_grid(path: str, shape) -> np.ndarray:
    image = read_xray(path)
    if image.shape[:2] != tuple(shape):
        image = cv2.resize(image, tuple(shape)[::-1], interpolation=cv2.INTER_AREA)
    return image


def write_pair_pictures(out_dir: str, result: AuditResult, items: Dict[str, AuditInput],
                        count: int, max_side: int = 512) -> List[tuple]:
    """Zoom and whole-image PNGs of the flagged pairs of the ``count`` most suspicious
    flagged images, under ``out_dir/gallery/``; returns per image (rank, index, [(zoom
    src, whole src, caption)]), sources relative to ``out_dir``.

    Args:
        out_dir (str): The audit's output folder.
        result (AuditResult): The audit.
        items (dict[str, AuditInput]): The audited images by key.
        count (int): How many flagged images get pictures.
        max_side (int): The audit grid's longest side (the pictures' size).
    """
    os.makedirs(osp.join(out_dir, 'gallery'), exist_ok=True)
    shown = []
    for rank, i in enumerate(result.ranking(), 1):
        pairs = result.flagged(i)[:PAIRS_PER_IMAGE]
        if len(shown) >= count or not pairs:
            break
        item = items[result.keys[i]]
        labels, probs = audit_planes(item, result.classes, max_side,
                                     labels_only=not result.with_oof[i])
        image = _image_on_grid(item.image_path, labels.shape[1:])
        figures = []
        for c in pairs:
            oof = probs[c] >= 0.5 if probs is not None else np.zeros_like(labels[c])
            zoom, whole = pair_overlay(image, oof, labels[c])
            stem = f'{rank:04d}_{osp.splitext(result.names[i])[0]}_{result.classes[c]}'
            write_png(osp.join(out_dir, 'gallery', stem + '.png'), zoom)
            write_png(osp.join(out_dir, 'gallery', stem + '_whole.png'), whole)
            figures.append((f'gallery/{stem}.png', f'gallery/{stem}_whole.png',
                            _pair_caption(result, i, c)))
        shown.append((rank, i, figures))
    return shown


def _url(path: str) -> str:
    """A relative file path as an attribute value (any character of an image name)."""
    return html.escape(urllib.parse.quote(path))


def _image_table(result: AuditResult) -> str:
    head = ''.join(f'<th>{h}</th>' for h in ('rank', 'image', 'score', 'flagged pairs',
                                             'prediction'))
    rows = []
    for rank, i in enumerate(result.ranking(), 1):
        flagged = ', '.join(
            f'{result.classes[c]} {result.kinds[i][c]}'
            + (f' ({result.partners[i][c]})' if result.partners[i][c] else '')
            for c in result.flagged(i))
        rows.append('<tr>' + table_cell(float(rank), 0) + table_cell(result.names[i])
                    + table_cell(float(result.image_scores[i]), 2) + table_cell(flagged)
                    + table_cell('out-of-fold' if result.with_oof[i] else 'labels only')
                    + '</tr>')
    return (f'<table id="images"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def write_audit_page(out_dir: str, result: AuditResult, shown: Sequence[tuple],
                     notes: Sequence[str] = ()) -> str:
    """Write ``out_dir/index.html``; returns its path.

    Args:
        out_dir (str): The audit's output folder (the pictures already in it).
        result (AuditResult): The audit.
        shown (Sequence[tuple]): :func:`write_pair_pictures`'s result.
        notes (Sequence[str]): Lines shown under the title.
    """
    key = ''.join(f'<span style="background: rgb{colour}">{name}</span>' for name, colour in (
        ('label', GT_OUTLINE), ('out-of-fold prediction (p = 0.5)', PRED_OUTLINE),
        ('predicted, not labelled', FALSE_POSITIVE), ('labelled, not predicted',
                                                      FALSE_NEGATIVE)))
    flagged = sum(bool(result.flagged(i)) for i in range(len(result.keys)))
    body = ['<h1>Label audit</h1>',
            f'<p>{len(result.keys)} images audited, {flagged} with a flagged pair (score at '
            f'least {result.flag_at:g}); <a href="#all">all images</a> in a sortable table '
            'below the pictures.</p>']
    body += [f'<p>{html.escape(line)}</p>' for line in notes]
    body += [f'<p class="key">{key}</p>', '<h2>Flagged pairs, most suspicious image first</h2>']
    body.append('<div class="grid">')
    for rank, _, figures in shown:
        for k, (zoom, whole, caption) in enumerate(figures):
            anchor = f' id="rank{rank}"' if k == 0 else ''
            body.append(f'<figure{anchor}><a href="{_url(whole)}"><img src="{_url(zoom)}" '
                        f'alt="{html.escape(caption)}"></a><figcaption><b>{rank}.</b> '
                        f'{html.escape(caption)}</figcaption></figure>')
    body.append('</div>')
    body += ['<h2 id="all">All images, most suspicious first</h2>'
             '<p>Click a column header to sort.</p>', _image_table(result)]
    return write_html_page(osp.join(out_dir, 'index.html'), 'Label audit', body, 'images')
