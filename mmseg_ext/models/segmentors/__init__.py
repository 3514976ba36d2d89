from .multilabel_cascade_encoder_decoder import MultiLabelCascadeEncoderDecoder
from .multilabel_encoder_decoder import MultiLabelEncoderDecoder
from .multilabel_tta import MultiLabelTTAModel
from .smp_segmentor import SMPSegmentor

__all__ = [
    'MultiLabelEncoderDecoder', 'MultiLabelCascadeEncoderDecoder', 'MultiLabelTTAModel',
    'SMPSegmentor'
]
