"""Masks of one image from one model or an ensemble, for notebooks and scripts.

Example::

    from mmseg_ext.apis import load_members, predict
    members = load_members(['work_dirs/kfold/fold0/cfg.py:work_dirs/kfold/fold0/best.pth',
                            'model.onnx:0.5'], tta=True)
    masks = predict(members, 'data/test/DCM/ID040/image1661319116107.png')  # (29, H, W) bool
"""
from typing import List, Optional, Sequence, Union

from torch import Tensor

from mmseg_ext.utils.postprocessing.mask_rule import MaskRule

from .member import Member, MemberSpec, build_member, parse_member


def load_members(models: Sequence[Union[str, MemberSpec, Member]], device: Optional[str] = None,
                 backend: str = 'onnxruntime', tta: bool = False,
                 threads: int = 0) -> List[Member]:
    """Build members once from ``--model`` strings or specs (members pass through).

    Args:
        models (Sequence): ``CONFIG.py:CKPT[:W]`` / ``MODEL.onnx[:W]`` strings,
            :class:`MemberSpec` s or built members.
        device (str, optional): Checkpoint members' device (default cuda if usable).
        backend (str): Exported members' runtime: 'onnxruntime' or 'openvino'.
        tta (bool): Flip TTA (exported) / the config's ``tta_pipeline`` (checkpoint).
        threads (int): Exported members' backend threads (0: the backend's default).
    """
    members = []
    for model in models:
        if isinstance(model, str):
            model = parse_member(model)
        if isinstance(model, MemberSpec):
            model.check_files()
            model = build_member(model, device, backend, tta, threads)
        members.append(model)
    return members


def predict(members: Sequence[Union[str, MemberSpec, Member]], image: str,
            rule: Optional[MaskRule] = None, class_weights: Optional[Tensor] = None) -> Tensor:
    """(C, H, W) bool masks of ``image`` at its original size: the members' weighted mean
    probability, then ``rule``.

    Args:
        members (Sequence): Built members (:func:`load_members`); strings and specs
            are built on each call, so build them once for many images.
        image (str): Path of a PNG or DICOM X-ray.
        rule (MaskRule, optional): Thresholds/cleanup/CRF; default the first member's.
        class_weights (Tensor, optional): (K, C) weight of each member per class.
    """
    from .ensemble import ensemble_masks
    members = load_members(members)
    return ensemble_masks(members, image, rule or members[0].mask_rule, class_weights)
