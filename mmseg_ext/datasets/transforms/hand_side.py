"""Left/right hand normalisation: flip left hands to the right-hand orientation."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_ext.utils.hand_side import side_and_flip


@TRANSFORMS.register_module()
class HandSideNormalize(BaseTransform):
    """Flip left hands (image and masks) so every hand looks like a right hand.

    The side comes from the file name's ``_L``/``_R`` suffix when present,
    else from the image
    (:func:`~mmseg_ext.utils.hand_side.side_and_flip`). A flipped sample gets
    ``hand_flip=True``; add ``'hand_flip'`` to ``PackSegInputs``'s
    ``meta_keys`` and the multi-label segmentors flip predictions back
    (composing with any ``RandomFlip``).

    Args:
        target_side (str): Orientation to normalise to. Defaults to 'R'.
        use_filename (bool): Trust ``_L``/``_R`` suffixes. Defaults to True.
        radius_left_means (str): Which side a radius left of the ulna means
            in this data set. Defaults to 'R' (as in the phantoms).
    """

    def __init__(self, target_side: str = 'R', use_filename: bool = True,
                 radius_left_means: str = 'R') -> None:
        if target_side not in ('L', 'R') or radius_left_means not in ('L', 'R'):
            raise ValueError("target_side and radius_left_means must be 'L' or 'R'")
        self.target_side = target_side
        self.use_filename = use_filename
        self.radius_left_means = radius_left_means

    def transform(self, results: dict) -> dict:
        side, flip = side_and_flip(results['img'], results.get('img_path', ''), self.target_side,
                                   self.use_filename, self.radius_left_means)
        results['hand_side'], results['hand_flip'] = side, flip
        if flip:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
            for key in results.get('seg_fields', []):
                results[key] = np.ascontiguousarray(results[key][:, ::-1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_side={self.target_side!r}, '
                f'use_filename={self.use_filename})')
