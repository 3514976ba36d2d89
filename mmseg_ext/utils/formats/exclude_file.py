"""The exclude file: image keys (``ID058/image1661130828152_R``) or IDs (``ID058``) that
``HandBoneDataset(exclude_file=...)`` leaves out, one a line; lines starting with ``#`` are
comments. ``tools/audit_labels.py --write-exclude`` writes one (a comment above each key
says why)."""
from typing import Iterable, Set, Tuple

from mmseg_ext.utils.fileio.atomic_io import atomic_open


def read_exclude_file(path: str) -> Set[str]:
    """The keys and IDs an exclude file lists.

    Args:
        path (str): The text file.
    """
    with open(path, encoding='utf-8') as f:
        return {ln.strip().strip('/') for ln in f if ln.strip() and not ln.startswith('#')}


def write_exclude_file(path: str, entries: Iterable[Tuple[str, str]], header: str = '') -> int:
    """Write an exclude file atomically; return the number of keys written.

    Args:
        path (str): The text file.
        entries (Iterable[tuple[str, str]]): (key, why) pairs; ``why`` becomes the comment
            line above the key (none when empty).
        header (str): Comment lines at the top (``#`` added to each).
    """
    count = 0
    with atomic_open(path, 'w', encoding='utf-8') as f:
        for line in header.splitlines():
            f.write(f'# {line}\n')
        for key, why in entries:
            if (not key.strip() or key != key.strip() or key.startswith('#')
                    or any(ch in key for ch in '\r\n')):
                raise ValueError(f'{path}: cannot list key {key!r}')
            if why:
                f.write(f'# {" ".join(why.split())}\n')
            f.write(f'{key}\n')
            count += 1
    return count
