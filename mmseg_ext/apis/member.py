"""Ensemble members: the one interface, the ``--model`` syntax, ``members.txt``, building.

A member is a checkpoint with its config (``CONFIG.py:CKPT[:WEIGHT]``,
:class:`~mmseg_ext.apis.ensemble.CheckpointMember`) or an exported model
(``MODEL.onnx[:WEIGHT]`` or ``.xml``, :class:`~mmseg_ext.deploy.onnx_member.ExportedMember`).
The spec is parsed from the right, so a checkpoint path or URL may contain ``:``.
Importing this module needs no mmcv/mmengine/mmseg.
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence, Union, runtime_checkable

from torch import Tensor

from mmseg_ext.utils.fileio.atomic_io import atomic_open
from mmseg_ext.utils.postprocessing.box_merge import ViewStack
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule

EXPORTED_SUFFIXES = ('.onnx', '.xml')
CONFIG_SUFFIX = '.py'


class MemberError(ValueError):
    """A member spec, members file or member that cannot be used; names where."""


@runtime_checkable
class Member(Protocol):
    """What every ensemble member offers (checkpoint and exported members alike).

    Attributes:
        weight (float): Weight in the probability average.
        mask_rule (MaskRule): Thresholds, cleanup and CRF of the member's config.
    """
    weight: float

    @property
    def mask_rule(self) -> MaskRule:
        """Thresholds, cleanup and CRF of the member's config."""

    def views(self, img_path: str, **fields) -> ViewStack:
        """The image's test-size logits, one per view, test transforms undone
        (a :class:`~mmseg_ext.utils.postprocessing.box_merge.ViewStack`).

        Args:
            img_path (str): The image file.
            **fields: More inputs of the member's pipeline: a crop box (checkpoint
                members), or ``xray``, the image's pixels already read (all members).
        """

    def add_probs(self, img_path: str, total: Optional[Tensor] = None,
                  weight: Union[float, Tensor, None] = None, **fields) -> Tensor:
        """Add ``weight`` (default the member's) x the image's full-size probabilities into
        ``total`` (the CRF and threshold-search paths).

        Args:
            img_path (str): The image file.
            total (Tensor, optional): Running (C, H, W) sum; None starts one.
            weight (float | Tensor, optional): Scalar or (C, 1, 1) per-class weight;
                default the member's ``weight``.
            **fields: As for :meth:`views`.

        Returns:
            Tensor: ``total`` with the member's weighted probabilities added.
        """


@dataclass(frozen=True)
class MemberSpec:
    """One parsed ``--model`` value.

    Args:
        kind (str): 'checkpoint' or 'exported'.
        path (str): The config file (checkpoint members) or the exported model.
        checkpoint (str, optional): The checkpoint file or URL (checkpoint members).
        weight (float): Weight in the probability average. Defaults to 1.
    """
    kind: str
    path: str
    checkpoint: Optional[str] = None
    weight: float = 1.0

    @classmethod
    def checkpoint_member(cls, config: str, checkpoint: str, weight: float = 1.0
                          ) -> 'MemberSpec':
        """A ``CONFIG:CKPT[:WEIGHT]`` member.

        Args:
            config (str): The config file.
            checkpoint (str): The checkpoint file or URL.
            weight (float): Weight in the probability average. Defaults to 1.
        """
        return cls('checkpoint', config, checkpoint, float(weight))

    def __str__(self) -> str:
        body = self.path if self.kind == 'exported' else f'{self.path}:{self.checkpoint}'
        return body if self.weight == 1.0 else f'{body}:{self.weight:g}'

    def resolved(self, folder: str) -> 'MemberSpec':
        """The spec with relative local paths taken relative to ``folder``.

        Args:
            folder (str): The folder relative paths start from (a members file's);
                absolute paths and URLs are kept.
        """
        def resolve(path: Optional[str]) -> Optional[str]:
            if path is None or '://' in path or osp.isabs(path):
                return path
            return osp.normpath(osp.join(folder, path))
        return MemberSpec(self.kind, resolve(self.path), resolve(self.checkpoint), self.weight)

    def check_files(self, where: str = '--model') -> None:
        """Stop when the member's local files do not exist (URLs are fetched later).

        Args:
            where (str): Where the spec came from, named in the error (``--model``, or
                ``FILE:LINE`` of a members file). Defaults to '--model'.

        Raises:
            MemberError: A missing config or checkpoint, or a missing exported model or
                the JSON beside it.
        """
        files = [self.path] if self.kind == 'exported' else [self.path, self.checkpoint]
        if self.kind == 'exported':
            files.append(osp.splitext(self.path)[0] + '.json')
        for path in files:
            if '://' not in path and not osp.isfile(path):
                raise MemberError(f'{where}: {path}: no such file')


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def parse_member(spec: str, where: str = '--model') -> MemberSpec:
    """``CONFIG.py:CKPT[:WEIGHT]`` or ``MODEL.onnx[:WEIGHT]`` -> :class:`MemberSpec`.

    The weight is the last ``:`` field when it is a number; the config ends at
    the first ``.py:``, so the checkpoint may be a URL or hold ``:``.

    Args:
        spec (str): One ``--model`` value.
        where (str): Where it came from, named in the error. Defaults to '--model'.

    Raises:
        MemberError: Not one of the two forms; the message names ``where``.
    """
    body, weight = spec.strip(), 1.0
    head, sep, tail = body.rpartition(':')
    if sep and head and _number(tail) is not None:
        body, weight = head, _number(tail)
    if osp.splitext(body)[1].lower() in EXPORTED_SUFFIXES:
        return MemberSpec('exported', body, None, weight)
    split = body.find(CONFIG_SUFFIX + ':')
    if split <= 0 or not body[split + len(CONFIG_SUFFIX) + 1:]:
        raise MemberError(f'{where}: {spec!r} is neither CONFIG.py:CKPT[:WEIGHT] nor '
                          f'MODEL.onnx[:WEIGHT]')
    return MemberSpec('checkpoint', body[:split + len(CONFIG_SUFFIX)],
                      body[split + len(CONFIG_SUFFIX) + 1:], weight)


def read_members_file(path: str) -> List[MemberSpec]:
    """Members of a ``members.txt``: one ``--model`` value a line (``#`` comments and
    blank lines skipped); relative paths are relative to the file's folder.

    Args:
        path (str): The members file (``--models-from``).

    Raises:
        MemberError: A missing file, a line that does not parse or names a file
            that does not exist (file and line number), or no member at all.
    """
    if not osp.isfile(path):
        raise MemberError(f'--models-from {path}: no such file')
    specs = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if line:
                where = f'{path}:{number}'
                spec = parse_member(line, where).resolved(osp.dirname(osp.abspath(path)))
                spec.check_files(where)
                specs.append(spec)
    if not specs:
        raise MemberError(f'--models-from {path}: no member in it')
    return specs


def write_members_file(path: str, specs: Sequence[MemberSpec]) -> None:
    """Write ``members.txt`` atomically, paths relative to its folder where they lie inside.

    Args:
        path (str): The members file to write.
        specs (Sequence[MemberSpec]): The members, one a line.
    """
    folder = osp.dirname(osp.abspath(path))

    def relative(file: Optional[str]) -> Optional[str]:
        if file is None or '://' in file:
            return file
        rel = osp.relpath(osp.abspath(file), folder)
        return file if rel.startswith('..') else rel
    lines = [str(MemberSpec(s.kind, relative(s.path), relative(s.checkpoint), s.weight))
             for s in specs]
    with atomic_open(path, 'w') as f:
        f.write('# one member a line: CONFIG.py:CKPT[:WEIGHT] or MODEL.onnx[:WEIGHT]\n')
        f.write('\n'.join(lines) + '\n')


def build_member(spec: MemberSpec, device: Optional[str] = None,
                 backend: str = 'onnxruntime', tta: bool = False, threads: int = 0) -> Member:
    """The member a spec names.

    Args:
        spec (MemberSpec): The parsed member.
        device (str, optional): Checkpoint members: cuda[:N] or cpu (default cuda if usable).
        backend (str): Exported members: 'onnxruntime' or 'openvino'.
        tta (bool): Horizontal flip (exported) / the config's ``tta_pipeline`` (checkpoint).
        threads (int): Exported members: backend threads (0: the backend's default).
    """
    if spec.kind == 'exported':
        from mmseg_ext.deploy.onnx_member import ExportedMember
        return ExportedMember(spec.path, spec.weight, backend, tta, threads)
    from .ensemble import CheckpointMember
    return CheckpointMember(spec.path, spec.checkpoint, spec.weight, device, tta=tta)


def member_classes(member: Member) -> Optional[List[str]]:
    """The class names a member predicts, where it says (checkpoint meta or export JSON).

    Args:
        member (Member): A built member: its ``spec.class_names`` (exported) or its
            ``model.dataset_meta['classes']`` (checkpoint) is read.

    Returns:
        list[str] | None: The class names; None when the member does not say.
    """
    spec = getattr(member, 'spec', None)
    if spec is not None and getattr(spec, 'class_names', None):
        return list(spec.class_names)
    model = getattr(member, 'model', None)
    meta = getattr(model, 'dataset_meta', None) or {}
    return list(meta['classes']) if meta.get('classes') else None


def check_same_classes(members: Sequence[Member], specs: Sequence[MemberSpec]) -> List[str]:
    """The members' common class list; stop when two members disagree.

    Args:
        members (Sequence[Member]): Built members.
        specs (Sequence[MemberSpec]): Their specs, in the same order (named in the
            error).

    Returns:
        list[str]: The class names; the hand-bone classes when no member says.

    Raises:
        MemberError: Two members with different class lists (both named).
    """
    first, first_spec = None, None
    for member, spec in zip(members, specs):
        classes = member_classes(member)
        if classes is None:
            continue
        if first is None:
            first, first_spec = classes, spec
        elif classes != first:
            raise MemberError(f'members {first_spec} ({len(first)} classes) and {spec} '
                              f'({len(classes)} classes) predict different class lists')
    if first is None:
        from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
        first = list(HAND_BONE_CLASSES)
    return first
