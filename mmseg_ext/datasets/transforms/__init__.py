from .geometric import RandomElasticDeform, RandomShiftScaleRotate
from .loading import LoadHandBoneAnnotations, LoadXRayImage
from .photometric import RandomBrightnessContrastGamma, RandomNoiseBlur

__all__ = [
    'LoadXRayImage', 'LoadHandBoneAnnotations', 'RandomShiftScaleRotate',
    'RandomElasticDeform', 'RandomBrightnessContrastGamma', 'RandomNoiseBlur'
]
