"""Validation of a submission CSV against the test images."""
import csv
import os.path as osp
from typing import Dict, Iterator, List, Sequence, Tuple

from .class_names import HAND_BONE_CLASSES
from .file_scan import IMAGE_SUFFIXES, list_images
from .rle import rle_decode


class SubmissionError(ValueError):
    """A submission CSV that does not match the competition format."""


def image_shapes(image_root: str,
                 suffixes: Sequence[str] = IMAGE_SUFFIXES) -> Dict[str, Tuple[int, int]]:
    """Base name -> (H, W) of every image under ``image_root``, in sorted path order."""
    from mmseg_ext.datasets.transforms.xray_io import decode_xray
    try:
        paths = list_images(image_root, suffixes)
    except FileNotFoundError as err:
        raise SubmissionError(str(err)) from err
    shapes: Dict[str, Tuple[int, int]] = {}
    for path in paths:
        with open(path, 'rb') as f:
            shapes[osp.basename(path)] = decode_xray(f.read(), path).shape[:2]
    return shapes


def _rows(csv_path: str) -> Iterator[Tuple[int, List[str]]]:
    with open(csv_path, newline='') as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ['image_name', 'class', 'rle']:
            raise SubmissionError(f'{csv_path}: header must be image_name,class,rle, got {header}')
        for line, row in enumerate(reader, start=2):
            if len(row) != 3:
                raise SubmissionError(f'{csv_path}:{line}: expected 3 fields, got {len(row)}')
            yield line, row


def check_submission(csv_path: str, image_root: str,
                     classes: Sequence[str] = HAND_BONE_CLASSES) -> Dict[str, int]:
    """Check header, 29 rows per image in class order, image order, and every RLE.

    Returns:
        dict: ``images`` and ``rows`` counted.

    Raises:
        SubmissionError: The first problem found, with file and line.
    """
    shapes = image_shapes(image_root)
    expected_images = list(shapes)
    images: List[str] = []
    rows = 0
    for line, (name, class_name, rle) in _rows(csv_path):
        index = rows % len(classes)
        if index == 0:
            images.append(name)
            if name not in shapes:
                raise SubmissionError(f'{csv_path}:{line}: unknown image {name!r}')
            if images.count(name) > 1:
                raise SubmissionError(f'{csv_path}:{line}: image {name!r} appears twice')
        elif name != images[-1]:
            raise SubmissionError(f'{csv_path}:{line}: {images[-1]!r} has '
                                  f'{index} rows, expected {len(classes)}')
        if class_name != classes[index]:
            raise SubmissionError(f'{csv_path}:{line}: class {class_name!r}, expected '
                                  f'{classes[index]!r} (class order)')
        try:
            rle_decode(rle, shapes[name])
        except ValueError as err:
            raise SubmissionError(f'{csv_path}:{line}: bad RLE for {name}/{class_name}: {err}')
        rows += 1
    if rows % len(classes):
        raise SubmissionError(f'{csv_path}: last image has {rows % len(classes)} rows')
    if images != expected_images:
        missing = [n for n in expected_images if n not in images]
        raise SubmissionError(f'{csv_path}: images missing {missing[:5]} or not in sorted '
                              f'path order')
    return {'images': len(images), 'rows': rows}
