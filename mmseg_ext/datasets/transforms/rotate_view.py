"""A fixed rotation for test-time augmentation, undone on the predictions."""
import cv2
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_ext.utils.masks.geometry import rotation_matrix


@TRANSFORMS.register_module()
class RotateView(BaseTransform):
    """Rotate the image by a fixed angle (a TTA view); records ``rotate_angle``.

    Put it after Resize/RandomFlip in a ``TestTimeAug`` branch and add
    ``'rotate_angle'`` to ``PackSegInputs``'s ``meta_keys``: the multi-label
    segmentors rotate the logits back before undoing the flip and resizing.

    Args:
        angle (float): Degrees, counter-clockwise.
    """

    def __init__(self, angle: float) -> None:
        self.angle = float(angle)

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        rotated = cv2.warpAffine(img, rotation_matrix(height, width, self.angle), (width, height),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        results['img'] = rotated.reshape(img.shape)
        results['rotate_angle'] = self.angle
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(angle={self.angle})'
