from .geometric import RandomElasticDeform, RandomShiftScaleRotate
from .hand_side import HandSideNormalize
from .loading import LoadHandBoneAnnotations, LoadXRayImage
from .photometric import RandomBrightnessContrastGamma, RandomNoiseBlur

__all__ = [
    'LoadXRayImage', 'LoadHandBoneAnnotations', 'RandomShiftScaleRotate',
    'RandomElasticDeform', 'HandSideNormalize', 'RandomBrightnessContrastGamma', 'RandomNoiseBlur'
]
