"""Check a submission against anatomical priors: findings CSV and a gallery, worst first.

``python tools/analysis_tools/check_anatomy.py SUBMISSION_CSV IMAGE_ROOT --priors P
    --out-dir D [--gallery 20]``
Writes D/findings.csv (image_name, score, class, kind, severity, detail; one
row per finding, images without findings get one row with score 0), and for
the ``--gallery`` worst flagged images D/gallery/<rank>_<image>.png (the
prediction with the flagged bones outlined and named) and D/index.html.
"""
import argparse
import csv
import html
import os
import os.path as osp

import cv2

from mmseg_ext.evaluation.anatomy import AnatomyPriors, check_masks, findings_score
from mmseg_ext.utils.class_names import hand_bone_palette
from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.formats.submission import read_submission_masks
from mmseg_ext.utils.runtime.progress import track
from mmseg_ext.visualization import prediction_figure


def write_gallery(flagged: list, csv_path: str, image_root: str, priors: AnatomyPriors,
                  out_dir: str) -> list:
    """Figures of the ``flagged`` (score, name, findings) images; returns their files."""
    wanted = {name: rank for rank, (_, name, _) in enumerate(flagged)}
    files = [''] * len(flagged)
    os.makedirs(osp.join(out_dir, 'gallery'), exist_ok=True)
    decoded = read_submission_masks(csv_path, image_root, priors.classes, only=wanted)
    for name, path, masks in track(decoded, len(wanted), 'gallery figures'):
        rank = wanted[name]
        figure = prediction_figure(read_xray(path), masks, priors.classes,
                                   hand_bone_palette(), name, findings=flagged[rank][2])
        files[rank] = osp.join('gallery', f'{rank + 1:03d}_{osp.splitext(name)[0]}.png')
        cv2.imwrite(osp.join(out_dir, files[rank]), figure[..., ::-1])
    return files


def write_index(out_dir: str, flagged: list, files: list) -> None:
    items = []
    for (score, name, findings), path in zip(flagged, files):
        lines = ''.join(f'<li>{html.escape(f.class_name)}: {f.kind}, {html.escape(f.detail)}</li>'
                        for f in findings)
        items.append(f'<h3>{html.escape(name)} (score {score:.1f})</h3><ul>{lines}</ul>'
                     f'<a href="{path}"><img src="{path}" width="900"></a>')
    with atomic_open(osp.join(out_dir, 'index.html'), 'w') as f:
        f.write('<html><body><h1>Anatomical findings, worst first</h1>' + ''.join(items) +
                '</body></html>')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('submission')
    parser.add_argument('image_root')
    parser.add_argument('--priors', required=True, help='from anatomy_priors.py')
    parser.add_argument('--out-dir', default='work_dirs/anatomy')
    parser.add_argument('--gallery', type=int, default=20, help='figures of the worst N')
    args = parser.parse_args()
    priors = AnatomyPriors.load(args.priors)
    results = []
    decoded = read_submission_masks(args.submission, args.image_root, priors.classes)
    total = len(image_paths_by_name(args.image_root))
    for name, _, masks in track(decoded, total, 'images checked'):
        findings = check_masks(masks, priors)
        results.append((findings_score(findings), name, findings))
    os.makedirs(args.out_dir, exist_ok=True)
    with atomic_open(osp.join(args.out_dir, 'findings.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['image_name', 'score', 'class', 'kind', 'severity', 'detail'])
        for score, name, findings in results:
            for x in findings or [None]:
                writer.writerow([name, f'{score:.2f}'] + ([x.class_name, x.kind,
                                f'{x.severity:.2f}', x.detail] if x else ['', '', '', '']))
    flagged = sorted((r for r in results if r[2]), key=lambda r: -r[0])[:args.gallery]
    write_index(args.out_dir, flagged, write_gallery(flagged, args.submission, args.image_root,
                                                     priors, args.out_dir))
    print(f'{sum(bool(r[2]) for r in results)} of {len(results)} images flagged; '
          f'findings in {osp.join(args.out_dir, "findings.csv")}, gallery of the worst '
          f'{len(flagged)} in {osp.join(args.out_dir, "index.html")}')


if __name__ == '__main__':
    main()
