"""Atomic, streaming writer of the competition CSV."""
import csv
import os
import os.path as osp
from typing import Iterable, Sequence

from .rle import rle_encode_batch

CSV_HEADER = ('image_name', 'class', 'rle')


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
        os.makedirs(osp.dirname(self.out_file), exist_ok=True)
        self._tmp = f'{self.out_file}.tmp{os.getpid()}'
        self._file = open(self._tmp, 'w', newline='')
        self._writer = csv.writer(self._file, lineterminator='\n')
        self._writer.writerow(CSV_HEADER)
        return self

    def write_rows(self, rows: Iterable[Sequence[str]]) -> None:
        """Write ready (image_name, class, rle) rows."""
        for row in rows:
            self._writer.writerow(row)
            self.rows += 1

    def write_image(self, image_name: str, masks) -> None:
        """Encode (C, H, W) masks of one image and write its C rows."""
        if masks.shape[0] != len(self.class_names):
            raise ValueError(f'{image_name}: {masks.shape[0]} masks for '
                             f'{len(self.class_names)} classes')
        self.write_rows(zip([image_name] * len(self.class_names), self.class_names,
                            rle_encode_batch(masks)))

    def __exit__(self, exc_type, exc, tb) -> None:
        self._file.close()
        if exc_type is None:
            os.replace(self._tmp, self.out_file)
        elif osp.exists(self._tmp):
            os.remove(self._tmp)
