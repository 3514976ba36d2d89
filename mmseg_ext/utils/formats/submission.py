"""The competition CSV (``image_name,class,rle``): write, read and check.

Every reader of a submission (the hook's merge, the checker, pseudo-labels,
overlays) goes through :func:`read_csv_rows`, which lifts Python's default
csv field limit (131072 characters): a fragmented 2048² mask easily has a
longer RLE (a checkerboard is 2M runs, about 21 MB).
"""
import csv
import heapq
import itertools
import os.path as osp
from typing import Container, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ..class_names import HAND_BONE_CLASSES
from ..fileio.atomic_io import atomic_open
from ..fileio.file_scan import image_paths_by_name
from ..fileio.xray_io import read_xray_shape
from .rle import rle_decode, rle_encode_batch

CSV_HEADER = ('image_name', 'class', 'rle')
# Longer than any RLE of an image up to 2**31 characters; a C long on every platform.
FIELD_SIZE_LIMIT = 2**31 - 1


class SubmissionError(ValueError):
    """A submission CSV that does not match the competition format."""


def _image_paths(image_root: str) -> Dict[str, str]:
    """:func:`~mmseg_ext.utils.fileio.file_scan.image_paths_by_name`, its errors as
    :class:`SubmissionError`."""
    try:
        return image_paths_by_name(image_root)
    except (FileNotFoundError, ValueError) as err:
        raise SubmissionError(str(err)) from err


def read_csv_rows(path: str) -> Iterator[List[str]]:
    """Stream the rows of a CSV whose fields may be megabytes long."""
    if csv.field_size_limit() < FIELD_SIZE_LIMIT:
        csv.field_size_limit(FIELD_SIZE_LIMIT)
    with open(path, newline='') as f:
        yield from csv.reader(f)


def read_submission(csv_path: str) -> Iterator[Tuple[int, List[str]]]:
    """Stream ``(line number, [image_name, class, rle])`` after checking the header.

    Raises:
        SubmissionError: A wrong header or a row without 3 fields, naming the line.
    """
    rows = read_csv_rows(csv_path)
    header = next(rows, None)
    if header != list(CSV_HEADER):
        raise SubmissionError(f'{csv_path}: header must be image_name,class,rle, got {header}')
    for line, row in enumerate(rows, start=2):
        if len(row) != 3:
            raise SubmissionError(f'{csv_path}:{line}: expected 3 fields, got {len(row)}')
        yield line, row


def read_submission_images(
        csv_path: str,
        classes: Sequence[str] = HAND_BONE_CLASSES) -> Iterator[Tuple[str, List[str]]]:
    """Stream ``(image_name, [rle per class])``, one image at a time.

    Raises:
        SubmissionError: An image whose rows are not the classes in order.
    """
    rows = read_submission(csv_path)
    for name, group in itertools.groupby(rows, key=lambda item: item[1][0]):
        group = list(group)
        if [row[1] for _, row in group] != list(classes):
            raise SubmissionError(f'{csv_path}:{group[0][0]}: image {name!r} does not have '
                                  f'the {len(classes)} classes in order')
        yield name, [row[2] for _, row in group]


def read_submission_masks(csv_path: str, image_root: str,
                          classes: Sequence[str] = HAND_BONE_CLASSES,
                          only: Optional[Container[str]] = None
                          ) -> Iterator[Tuple[str, str, np.ndarray]]:
    """Stream ``(image_name, image path, (C, H, W) bool masks)`` at each image's size.

    Args:
        csv_path (str): The submission.
        image_root (str): Folder of its images (sizes are read from the headers).
        classes (Sequence[str]): Classes in row order.
        only (Container[str], optional): Decode only these image names.

    Raises:
        SubmissionError: An image that is not under ``image_root``, or rows
            not in class order.
    """
    paths = _image_paths(image_root)
    for name, rles in read_submission_images(csv_path, classes):
        if only is not None and name not in only:
            continue
        if name not in paths:
            raise SubmissionError(f'{csv_path}: image {name!r} is not under {image_root}')
        shape = read_xray_shape(paths[name])
        yield name, paths[name], np.stack([rle_decode(rle, shape) for rle in rles])


def image_rows(image_name: str, masks, class_names: Sequence[str]) -> List[Tuple[str, str, str]]:
    """The C ``(image_name, class, rle)`` rows of one image's (C, H, W) bool masks.

    Raises:
        ValueError: Not one mask per class (names the image).
    """
    if masks.shape[0] != len(class_names):
        raise ValueError(f'{image_name}: {masks.shape[0]} masks for {len(class_names)} classes')
    return list(zip([image_name] * len(class_names), class_names, rle_encode_batch(masks)))


class SubmissionPart:
    """One process's share of a submission: each image's rows, keyed by its path.

    :func:`merge_parts` merges the parts of all processes (each in its sampler's
    order, i.e. sorted by path) into one CSV sorted by path.

    Args:
        path (str): The part file (temporary; removed by the caller).
        class_names (Sequence[str]): Classes in row order.
    """

    def __init__(self, path: str, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        self._file = open(path, 'w', newline='')
        self._writer = csv.writer(self._file, lineterminator='\n')
        self.longest = 0

    def write_image(self, img_path: str, masks) -> None:
        """Encode one image's (C, H, W) masks; its rows are keyed by ``img_path``."""
        for row in image_rows(osp.basename(img_path), masks, self.class_names):
            self._writer.writerow((img_path, ) + row)
            self.longest = max(self.longest, len(row[2]))

    def close(self) -> None:
        """Flush and close the part file."""
        self._file.close()


def merge_parts(part_paths: Sequence[str], out_file: str, class_names: Sequence[str],
                expected_rows: int) -> int:
    """Merge :class:`SubmissionPart` files by image path into ``out_file`` (atomically).

    Raises:
        RuntimeError: The parts hold another number of rows than ``expected_rows``;
            nothing is written then.
    """
    merged = heapq.merge(*(read_csv_rows(p) for p in part_paths), key=lambda row: row[0])
    with SubmissionWriter(out_file, class_names) as writer:
        writer.write_rows(row[1:] for row in merged)
        if writer.rows != expected_rows:
            raise RuntimeError(f'{out_file}: merged {writer.rows} rows, expected {expected_rows}')
    return writer.rows


class SubmissionWriter:
    """Write ``image_name,class,rle`` rows to a temporary file; rename on success.

    Use as a context manager: leaving the block normally renames the
    finished file to ``out_file``; an exception removes it, so a failed run
    never leaves a (partial) CSV.

    Args:
        out_file (str): Final CSV path.
        class_names (Sequence[str]): Classes in row order.
    """

    def __init__(self, out_file: str, class_names: Sequence[str]) -> None:
        self.out_file = osp.abspath(out_file)
        self.class_names = list(class_names)
        self.rows = 0

    def __enter__(self) -> 'SubmissionWriter':
        self._atomic = atomic_open(self.out_file, 'w', newline='')
        self._writer = csv.writer(self._atomic.__enter__(), lineterminator='\n')
        self._writer.writerow(CSV_HEADER)
        return self

    def write_rows(self, rows: Iterable[Sequence[str]]) -> None:
        """Write ready (image_name, class, rle) rows."""
        for row in rows:
            self._writer.writerow(row)
            self.rows += 1

    def write_image(self, image_name: str, masks) -> None:
        """Encode (C, H, W) masks of one image and write its C rows."""
        self.write_rows(image_rows(image_name, masks, self.class_names))

    def __exit__(self, exc_type, exc, tb) -> None:
        self._atomic.__exit__(exc_type, exc, tb)


def check_submission(csv_path: str, image_root: str,
                     classes: Sequence[str] = HAND_BONE_CLASSES) -> Dict[str, int]:
    """Check header, rows per image in class order, image order, and every RLE.

    Returns:
        dict: ``images``, ``rows`` and ``longest_rle`` (characters) counted.

    Raises:
        SubmissionError: The first problem found, with file and line.
    """
    paths = _image_paths(image_root)
    images: List[str] = []
    seen = set()
    rows = longest = 0
    shape = None
    for line, (name, class_name, rle) in read_submission(csv_path):
        index = rows % len(classes)
        if index == 0:
            if name not in paths:
                raise SubmissionError(f'{csv_path}:{line}: unknown image {name!r}')
            if name in seen:
                raise SubmissionError(f'{csv_path}:{line}: image {name!r} appears twice')
            images.append(name)
            seen.add(name)
            shape = read_xray_shape(paths[name])
        elif name != images[-1]:
            raise SubmissionError(f'{csv_path}:{line}: {images[-1]!r} has '
                                  f'{index} rows, expected {len(classes)}')
        if class_name != classes[index]:
            raise SubmissionError(f'{csv_path}:{line}: class {class_name!r}, expected '
                                  f'{classes[index]!r} (class order)')
        try:
            rle_decode(rle, shape)
        except ValueError as err:
            raise SubmissionError(f'{csv_path}:{line}: bad RLE for {name}/{class_name}: {err}')
        rows += 1
        longest = max(longest, len(rle))
    if rows % len(classes):
        raise SubmissionError(f'{csv_path}: last image has {rows % len(classes)} rows')
    if images != list(paths):
        missing = [n for n in paths if n not in seen]
        raise SubmissionError(f'{csv_path}: images missing {missing[:5]} or not in sorted '
                              f'path order')
    return {'images': len(images), 'rows': rows, 'longest_rle': longest}
