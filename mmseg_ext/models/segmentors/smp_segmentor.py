"""segmentation_models_pytorch networks as multi-label mmseg segmentors."""
from typing import Optional, Union

from mmseg.registry import MODELS

from .multilabel_encoder_decoder import MultiLabelEncoderDecoder


@MODELS.register_module()
class SMPSegmentor(MultiLabelEncoderDecoder):
    """Any SMP architecture trained and predicting through our multi-label path.

    Builds ``MultiLabelEncoderDecoder(backbone=SMPModel(...),
    decode_head=IdentityHead(...))``, so data preprocessing, losses,
    ``test_cfg`` (whole/slide, thresholds) and prediction are the HRNet ones.

    Args:
        arch (str): SMP architecture, e.g. 'UnetPlusPlus', 'DeepLabV3Plus'.
        encoder_name (str): Encoder, e.g. 'resnet34' or a 'tu-' timm name.
        encoder_weights (str, optional): Pretrained encoder weights; None
            (default) downloads nothing.
        in_channels (int): Input channels. Defaults to 3.
        classes (int): Number of classes. Defaults to 29.
        loss_decode (dict | list[dict]): Loss configs.
        align_corners (bool): For resizing logits. Defaults to False.
        model_kwargs (dict, optional): Further ``smp.create_model`` arguments.
        train_cfg (dict, optional): Training config.
        test_cfg (dict, optional): Test config (mode, crop_size, stride,
            threshold, output_probs).
        data_preprocessor (dict, optional): Usually
            ``MultiLabelSegDataPreProcessor`` with ``size_divisor=32``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 arch: str,
                 encoder_name: str = 'resnet34',
                 encoder_weights: Optional[str] = None,
                 in_channels: int = 3,
                 classes: int = 29,
                 loss_decode: Union[dict, list] = dict(type='MultiLabelBCELoss'),
                 align_corners: bool = False,
                 model_kwargs: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            backbone=dict(type='SMPModel', arch=arch, encoder_name=encoder_name,
                          encoder_weights=encoder_weights, in_channels=in_channels,
                          classes=classes, model_kwargs=model_kwargs),
            decode_head=dict(type='IdentityHead', num_classes=classes,
                             loss_decode=loss_decode, align_corners=align_corners),
            train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
