"""Data preprocessor that unpacks bit-packed multi-label ground truth."""
from typing import Any, Dict

from mmengine.structures import PixelData
from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS

from mmseg_ext.utils.class_names import NUM_HAND_BONE_CLASSES
from mmseg_ext.utils.masks.bitmask import unpack_bits


@MODELS.register_module()
class MultiLabelSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` for bit-packed multi-label maps.

    In training, after mmseg's normalisation and padding (padding fills 0 =
    no class), each sample's (1, H, W) bit map becomes a (C, H, W) bool
    ``gt_sem_seg`` on the device. Validation/test ground truth stays packed
    at the original size for the metric.

    Args:
        num_classes (int): Number of classes (bits). Defaults to 29.
        seg_pad_val (int): Fill value for padded ground truth. Defaults to 0.
        **kwargs: Passed to :class:`mmseg.models.SegDataPreProcessor`.
    """

    def __init__(self, num_classes: int = NUM_HAND_BONE_CLASSES, seg_pad_val: int = 0,
                 **kwargs) -> None:
        super().__init__(seg_pad_val=seg_pad_val, **kwargs)
        self.num_classes = num_classes

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        data = super().forward(data, training)
        if training:
            for sample in data['data_samples']:
                bits = sample.gt_sem_seg.data[0]
                sample.gt_sem_seg = PixelData(data=unpack_bits(bits, self.num_classes))
        return data
