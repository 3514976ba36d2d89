"""Out-of-fold prediction files: one ``.npz`` per training image, written by
``tools/kfold.py`` under ``WORK/fold{k}/oof/<ID>/<image stem>.npz``.

Each holds what re-making the fold model's masks at the original size needs, for any
thresholds, cleanup or ensemble weights: the model's views of the image as the network
gave them (:class:`~mmseg_ext.utils.postprocessing.raw_views.RawViews`: a decode head's
1/4-size logits, before their resize and before the test transforms are undone) in
float16, and a JSON header: the image key and name, its fold, the checkpoint, the classes,
the original size, how the views merge and each view's input size and test transforms.

float16 keeps 11 significant bits: a re-made probability differs from prediction's
float32 one by less than 1e-3 where the stored logits are under 16 in size (a resampled
pixel mixes its neighbour cells' rounding), so only pixels that close to a threshold can
flip (a test counts them: ~3e-5 of the pixels on random logits).
"""
import io
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Iterator, List, Optional

import numpy as np
import torch

from ..fileio.atomic_io import atomic_write_bytes
from ..postprocessing.raw_views import RawView, RawViews

FORMAT_VERSION = 1
# float16's largest finite value is 65504; a logit past this is as good as infinite.
LOGIT_LIMIT = 1e4


class OofFileError(ValueError):
    """An out-of-fold file that cannot be read; the message names it."""


@dataclass
class OofRecord:
    """One training image's out-of-fold prediction.

    Args:
        key (str): The image key, ``IDxxx/<image stem>`` (its path under ``DCM/``
            without the extension).
        image_name (str): The file's base name (the submission's ``image_name``).
        fold (int): The fold whose model predicted it (the image is in its validation).
        checkpoint (str): That model's checkpoint file name.
        tta (bool): Whether the views are the config's TTA views.
        classes (list[str]): The class of each logit channel.
        raw (RawViews): The views.
    """
    key: str
    image_name: str
    fold: int
    checkpoint: str
    tta: bool
    classes: List[str]
    raw: RawViews

    def header(self) -> dict:
        """The JSON header (everything but the logits)."""
        raw = self.raw
        return dict(format=FORMAT_VERSION, key=self.key, image_name=self.image_name,
                    fold=int(self.fold), checkpoint=self.checkpoint, tta=bool(self.tta),
                    classes=list(self.classes), size=[int(v) for v in raw.size],
                    space=raw.space, align_corners=bool(raw.align_corners),
                    vote_thresholds=raw.vote_thresholds,
                    views=[dict(input_size=[int(v) for v in view.input_size],
                                transforms=view.transforms) for view in raw.views])


def oof_path(oof_dir: str, key: str) -> str:
    """Where the record of image ``key`` lives under ``oof_dir``.

    Args:
        oof_dir (str): A fold's ``oof`` folder.
        key (str): The image key (``IDxxx/<stem>``).
    """
    return osp.join(oof_dir, key + '.npz')


def write_oof_file(path: str, record: OofRecord) -> int:
    """Write ``record`` atomically (temp file + rename); return the bytes written.

    Args:
        path (str): The ``.npz`` file.
        record (OofRecord): The image's prediction.
    """
    arrays = {f'view{i}': view.logits.detach().float().clamp(-LOGIT_LIMIT, LOGIT_LIMIT)
              .cpu().numpy().astype(np.float16) for i, view in enumerate(record.raw.views)}
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array(json.dumps(record.header())), **arrays)
    data = buffer.getvalue()
    atomic_write_bytes(data, path)
    return len(data)


def read_oof_header(path: str) -> dict:
    """The JSON header of an out-of-fold file (the logits are not read).

    Args:
        path (str): The ``.npz`` file.

    Raises:
        OofFileError: Not an out-of-fold file of this format (names it).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data['header']))
    except (OSError, ValueError, KeyError) as err:
        raise OofFileError(f'{path}: not an out-of-fold file ({err}); delete it and run '
                           'tools/kfold.py again to re-make it') from err
    if header.get('format') != FORMAT_VERSION:
        raise OofFileError(f'{path}: out-of-fold format {header.get("format")!r}, this '
                           f'version reads {FORMAT_VERSION}; delete it and run tools/kfold.py '
                           'again')
    return header


def read_oof_file(path: str) -> OofRecord:
    """The record of an out-of-fold file (logits as float16 tensors on the CPU).

    Args:
        path (str): The ``.npz`` file.

    Raises:
        OofFileError: Not an out-of-fold file of this format, or views missing (names it).
    """
    header = read_oof_header(path)
    views = []
    with np.load(path, allow_pickle=False) as data:
        for i, view in enumerate(header['views']):
            if f'view{i}' not in data:
                raise OofFileError(f'{path}: view{i} is missing; delete it and run '
                                   'tools/kfold.py again')
            views.append(RawView(torch.from_numpy(data[f'view{i}']),
                                 tuple(view['input_size']), view['transforms']))
    raw = RawViews(tuple(header['size']), header['space'], header['align_corners'],
                   header['vote_thresholds'], views)
    return OofRecord(header['key'], header['image_name'], header['fold'],
                     header['checkpoint'], header['tta'], header['classes'], raw)


def oof_keys(oof_dir: str) -> Iterator[str]:
    """The image keys with a file under ``oof_dir`` (any order).

    Args:
        oof_dir (str): A fold's ``oof`` folder.
    """
    for folder, _, files in os.walk(oof_dir):
        for name in files:
            if name.endswith('.npz'):
                rel = osp.relpath(osp.join(folder, name), oof_dir)
                yield rel[:-len('.npz')].replace(os.sep, '/')


def stored_matches(path: str, checkpoint: str, tta: bool) -> Optional[dict]:
    """The header of ``path`` when it exists and was made by ``checkpoint`` with ``tta``
    (a re-run keeps it); None when it must be (re)made.

    Args:
        path (str): The ``.npz`` file.
        checkpoint (str): The checkpoint file name that should have made it.
        tta (bool): Whether it should hold the TTA views.
    """
    if not osp.isfile(path):
        return None
    try:
        header = read_oof_header(path)
    except OofFileError:
        return None
    if header['checkpoint'] != checkpoint or header['tta'] != tta:
        return None
    return header
