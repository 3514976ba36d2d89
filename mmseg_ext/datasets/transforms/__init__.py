from .geometric import RandomElasticDeform, RandomShiftScaleRotate
from .hand_side import HandSideNormalize
from .loading import LoadHandBoneAnnotations, LoadXRayImage
from .photometric import RandomBrightnessContrastGamma, RandomNoiseBlur
from .rotate_view import RotateView

__all__ = [
    'LoadXRayImage', 'LoadHandBoneAnnotations', 'RandomShiftScaleRotate',
    'RandomElasticDeform', 'HandSideNormalize', 'RotateView', 'RandomBrightnessContrastGamma',
    'RandomNoiseBlur'
]
