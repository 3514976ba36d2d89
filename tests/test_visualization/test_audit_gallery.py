"""audit.csv and the gallery of a labels-only audit of phantoms with one dropped bone."""
import csv
import json
import os
import os.path as osp
import shutil

import numpy as np

from mmseg_ext.evaluation.label_audit import audit_inputs, audit_labels
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.visualization.audit_gallery import (AUDIT_CSV_FIELDS, write_audit_csv,
                                                   write_audit_page, write_pair_pictures)


def _drop_capitate(data_root: str) -> str:
    """Drop Capitate from the first annotation file; return its image's key."""
    json_root = osp.join(data_root, 'outputs_json')
    folder = sorted(os.listdir(json_root))[0]
    name = sorted(os.listdir(osp.join(json_root, folder)))[0]
    path = osp.join(json_root, folder, name)
    with open(path) as f:
        annotations = json.load(f)['annotations']
    with open(path, 'w') as f:
        json.dump({'annotations': [a for a in annotations if a['label'] != 'Capitate']}, f)
    return f'{folder}/{osp.splitext(name)[0]}'


def test_csv_ranks_images_and_the_page_shows_the_flagged_pair(phantom_root, tmp_path):
    data_root = str(tmp_path / 'train')
    shutil.copytree(osp.join(phantom_root, 'train'), data_root)
    faulty = _drop_capitate(data_root)
    items, uncovered = audit_inputs(data_root)
    assert uncovered == [] and len(items) == 10
    result = audit_labels(items, HAND_BONE_CLASSES, labels_only=True, progress=False)
    out = str(tmp_path / 'audit')
    assert write_audit_csv(osp.join(out, 'audit.csv'), result) == 10 * 29
    with open(osp.join(out, 'audit.csv')) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == AUDIT_CSV_FIELDS
    assert rows[0]['image'] == faulty.split('/')[1] + '.png'
    assert (rows[0]['class'], rows[0]['kind'], rows[0]['partner']) == ('Capitate', 'missing', '')
    firsts = [float(rows[k]['score']) for k in range(0, len(rows), 29)]
    assert firsts == sorted(firsts, reverse=True)
    assert [len({r['class'] for r in rows[k:k + 29]}) for k in range(0, len(rows), 29)] == [29] * 10
    shown = write_pair_pictures(out, result, {item.key: item for item in items}, count=5)
    flagged = [i for i in range(10) if result.flagged(i)]
    assert [i for _, i, _ in shown] == sorted(flagged, key=result.ranking().index)[:5]
    for _, _, figures in shown:
        for zoom, whole, caption in figures:
            assert osp.getsize(osp.join(out, zoom)) > 0 and osp.getsize(osp.join(out, whole)) > 0
    page = open(write_audit_page(out, result, shown, ['a note'])).read()
    assert 'Capitate: missing' in page and 'a note' in page
    assert page.count('<tr>') == 1 + 10  # header + one row per image
    assert np.isfinite(result.image_scores).all()
