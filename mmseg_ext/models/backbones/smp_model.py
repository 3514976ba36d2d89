"""Any segmentation_models_pytorch model as an mmseg module."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from mmseg_ext.utils.class_names import NUM_HAND_BONE_CLASSES


@MODELS.register_module()
class SMPModel(BaseModule):
    """A whole ``segmentation_models_pytorch`` network returning logits.

    Args:
        arch (str): Any architecture ``smp.create_model`` knows (Unet,
            UnetPlusPlus, FPN, PSPNet, DeepLabV3, DeepLabV3Plus, Linknet,
            MAnet, PAN, UPerNet, Segformer, DPT ...).
        encoder_name (str): SMP/timm encoder, e.g. 'resnet34'.
        encoder_weights (str, optional): Pretrained encoder weights
            ('imagenet' ...). Defaults to None: nothing is downloaded.
        in_channels (int): Input channels. Defaults to 3.
        classes (int): Output channels. Defaults to 29.
        model_kwargs (dict, optional): Further ``smp.create_model`` arguments.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 arch: str,
                 encoder_name: str = 'resnet34',
                 encoder_weights: Optional[str] = None,
                 in_channels: int = 3,
                 classes: int = NUM_HAND_BONE_CLASSES,
                 model_kwargs: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        import segmentation_models_pytorch as smp
        self.model = smp.create_model(
            arch, encoder_name=encoder_name, encoder_weights=encoder_weights,
            in_channels=in_channels, classes=classes, **(model_kwargs or {}))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model(inputs)
