"""A model's views of one image as the network gave them: before the resize to the test
size and before the test transforms are undone.

The one form from which prediction (:meth:`RawViews.stack`) and the stored out-of-fold
predictions (:mod:`mmseg_ext.utils.formats.oof_file`) both make their
:class:`~mmseg_ext.utils.postprocessing.box_merge.ViewStack`: a decode head's 1/4-size
logits are 1/16 of the test-size ones, and the masks re-made from them are those of
prediction for any thresholds.
"""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .box_merge import ViewStack
from .view_geometry import undo_test_transforms

# The metainfo keys that undo_test_transforms reads: all a view needs to be put back.
TRANSFORM_KEYS = ('img_padding_size', 'padding_size', 'rotate_angle', 'flip', 'flip_direction',
                  'hand_flip')


def transforms_of(meta: dict) -> dict:
    """The test-transform entries of a sample's metainfo, as plain JSON values.

    Args:
        meta (dict): A sample's metainfo.
    """
    out = {}
    for key in TRANSFORM_KEYS:
        if meta.get(key) is not None:
            value = meta[key]
            out[key] = [int(v) for v in value] if key.endswith('padding_size') else value
    if 'rotate_angle' in out:
        out['rotate_angle'] = float(out['rotate_angle'])
    return out


@dataclass
class RawView:
    """One view: the network's logits before their resize to the network input size.

    Args:
        logits (Tensor): (C, h, w) logits as the network output them (a decode head's
            1/4 size, or the input size when the network ends there).
        input_size (tuple[int, int]): The (padded) network input size they are resized to.
        transforms (dict): The view's test transforms (:func:`transforms_of`).
    """
    logits: Tensor
    input_size: Tuple[int, int]
    transforms: dict = field(default_factory=dict)

    def test_size_logits(self, align_corners: bool) -> Tensor:
        """(C, h', w') float32 logits at the test size, the test transforms undone.

        Args:
            align_corners (bool): As used by the model.
        """
        logits = self.logits.float()[None]
        if tuple(logits.shape[-2:]) != tuple(self.input_size):  # same size: identity
            logits = F.interpolate(logits, size=tuple(self.input_size), mode='bilinear',
                                   align_corners=align_corners)
        return undo_test_transforms(logits, self.transforms)[0]


@dataclass
class RawViews:
    """One model's views of one image and how they merge.

    Args:
        size (tuple[int, int]): (H, W) original size of the image.
        space (str): How the views merge ('prob', 'logit', 'vote').
        align_corners (bool): As used by the model.
        vote_thresholds (list[float], optional): Per-class thresholds of a 'vote'.
        views (list[RawView]): The views, in order.
    """
    size: Tuple[int, int]
    space: str = 'prob'
    align_corners: bool = False
    vote_thresholds: Optional[List[float]] = None
    views: List[RawView] = field(default_factory=list)

    def stack(self, device: Optional[torch.device] = None) -> ViewStack:
        """The :class:`ViewStack` of these views (on ``device``; default: where they are).

        Args:
            device (torch.device, optional): Where the stack computes.
        """
        thresholds = None
        if self.vote_thresholds is not None:
            thresholds = torch.tensor(self.vote_thresholds, dtype=torch.float32).reshape(-1, 1, 1)
        stack = ViewStack(self.size, self.space, self.align_corners, thresholds)
        for view in self.views:
            logits = view.logits if device is None else view.logits.to(device)
            stack.add(RawView(logits, view.input_size, view.transforms)
                      .test_size_logits(self.align_corners))
        return stack

    @property
    def num_classes(self) -> int:
        return int(self.views[0].logits.shape[0])
