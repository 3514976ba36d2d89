"""Finding image and annotation files in sorted path order."""
import os
import os.path as osp
from typing import Dict, List, Sequence

IMAGE_SUFFIXES = ('.png', '.dcm')


class DuplicateNameError(ValueError):
    """Two files share a base name, which keys a submission's rows."""


def scan_files(root: str, suffixes: Sequence[str]) -> List[str]:
    """Relative paths of the files under ``root`` ending with a suffix, sorted."""
    found = []
    for dirpath, _, filenames in os.walk(root, followlinks=True):
        for name in filenames:
            if name.lower().endswith(tuple(suffixes)):
                found.append(osp.relpath(osp.join(dirpath, name), root))
    return sorted(found)


def list_images(root: str, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> List[str]:
    """Image paths under ``root`` in sorted path order (as HandBoneDataset orders them)."""
    paths = [osp.join(root, p) for p in scan_files(root, suffixes)]
    if not paths:
        raise FileNotFoundError(f'no {"/".join(suffixes)} images under {root}')
    return paths


def paths_by_name(paths: Sequence[str], what: str = 'images') -> Dict[str, str]:
    """Base name -> path, in the given order; two paths sharing a base name are refused
    (a submission is keyed by it).

    Raises:
        DuplicateNameError: Naming both paths.
    """
    by_name: Dict[str, str] = {}
    for path in paths:
        name = osp.basename(path)
        if name in by_name:
            raise DuplicateNameError(f'two {what} are named {name!r}: {by_name[name]} and '
                                     f'{path}; a submission keyed by image name would be '
                                     'ambiguous')
        by_name[name] = path
    return by_name


def image_paths_by_name(image_root: str,
                        suffixes: Sequence[str] = IMAGE_SUFFIXES) -> Dict[str, str]:
    """Base name -> path of every image under ``image_root``, in sorted path order.

    Raises:
        FileNotFoundError: No image under ``image_root``.
        DuplicateNameError: Two images share a base name.
    """
    return paths_by_name(list_images(image_root, suffixes))
