"""segmentation_models_pytorch networks as multi-label mmseg segmentors."""
from typing import Optional, Union

from mmseg.registry import MODELS

from mmseg_ext.utils.class_names import NUM_HAND_BONE_CLASSES

from .multilabel_encoder_decoder import MultiLabelEncoderDecoder


@MODELS.register_module()
class SMPSegmentor(MultiLabelEncoderDecoder):
    """Any SMP architecture trained and predicting through our multi-label path.

    Builds ``MultiLabelEncoderDecoder(backbone=SMPModel(...),
    decode_head=IdentityHead(...))``, so data preprocessing, losses,
    ``test_cfg`` (whole/slide, thresholds) and prediction are the HRNet ones.

    Args:
        arch (str): SMP architecture, e.g. 'UnetPlusPlus', 'DeepLabV3Plus'.
        classes (int): Number of classes. Defaults to 29.
        loss_decode (dict | list[dict]): Loss configs.
        align_corners (bool): For resizing logits. Defaults to False.
        train_cfg (dict, optional): Training config.
        test_cfg (dict, optional): Test config (mode, crop_size, stride,
            threshold, cleanup, crf).
        data_preprocessor (dict, optional): Usually
            ``MultiLabelSegDataPreProcessor`` with ``size_divisor=32``.
        init_cfg (dict, optional): mmengine initialisation config.
        pretrained (None): Only None, which ``mmseg.apis.init_model`` sets on every
            model config; SMP encoders take ``encoder_weights``.
        **smp_args: The other arguments of
            :class:`mmseg_ext.models.backbones.SMPModel` (``encoder_name``,
            ``encoder_weights`` (default None: nothing is downloaded),
            ``in_channels``, ``model_kwargs``).
    """

    def __init__(self,
                 arch: str,
                 classes: int = NUM_HAND_BONE_CLASSES,
                 loss_decode: Union[dict, list] = dict(type='MultiLabelBCELoss'),
                 align_corners: bool = False,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 **smp_args) -> None:
        if pretrained is not None:
            raise ValueError(f'SMPSegmentor: pretrained={pretrained!r} is not read; set '
                             "encoder_weights (e.g. 'imagenet') instead")
        super().__init__(
            backbone=dict(type='SMPModel', arch=arch, classes=classes, **smp_args),
            decode_head=dict(type='IdentityHead', num_classes=classes,
                             loss_decode=loss_decode, align_corners=align_corners),
            train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
