"""Loading transforms: X-ray images and multi-label (bit-packed) masks."""
from typing import Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES, NUM_HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.xray_io import decode_xray
from mmseg_ext.utils.formats.annotation_json import (count_polygons_past_border,
                                                     parse_annotation_file)
from mmseg_ext.utils.masks.bitmask import rasterize_bitmask


@TRANSFORMS.register_module()
class LoadXRayImage(BaseTransform):
    """Load a PNG (8/16-bit, grey or colour) or DICOM X-ray.

    Every format becomes uint8 grey in 0..255 (16-bit PNG scaled by 255/65535;
    DICOM through Rescale Slope/Intercept, the VOI window or LUT, MONOCHROME1
    inverted), the range mmseg's photometric transforms and the
    ``SegDataPreProcessor`` mean/std expect.

    Optional key: ``xray``, the (H, W) uint8 grey pixels of ``img_path`` already read
    (:func:`~mmseg_ext.utils.fileio.xray_io.read_xray`; an ensemble reads each
    image once for all its members): used, and removed, instead of reading the file.

    Added keys: ``img``, ``img_shape``, ``ori_shape``.

    Args:
        num_channels (int): 3 repeats the grey plane (ImageNet-pretrained
            encoders), 1 keeps one plane. Defaults to 3.
        to_float32 (bool): Return float32 instead of uint8. Defaults to False.
        expected_size (tuple, optional): (H, W) every image must have;
            a different size raises, naming the file.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 num_channels: int = 3,
                 to_float32: bool = False,
                 expected_size: Optional[tuple] = None,
                 backend_args: Optional[dict] = None) -> None:
        if num_channels not in (1, 3):
            raise ValueError(f'num_channels must be 1 or 3, got {num_channels}')
        self.num_channels = num_channels
        self.to_float32 = to_float32
        self.expected_size = tuple(expected_size) if expected_size else None
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        shared = results.pop('xray', None)
        img = self.read(path) if shared is None else shared
        if self.expected_size and img.shape != self.expected_size:
            raise ValueError(
                f'{path}: image is {img.shape[0]}x{img.shape[1]}, expected '
                f'{self.expected_size[0]}x{self.expected_size[1]}')
        if self.num_channels == 1:  # a copy of pixels others share: later steps may write
            img = img[..., None] if shared is None else img[..., None].copy()
        else:
            img = np.repeat(img[..., None], 3, axis=2)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def read(self, path: str) -> np.ndarray:
        """The (H, W) uint8 grey pixels of the file at ``path``."""
        try:
            content = fileio.get(path, backend_args=self.backend_args)
        except OSError as err:
            raise FileNotFoundError(f'{path}: cannot read image ({err})') from err
        return decode_xray(content, path)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_channels={self.num_channels}, '
                f'to_float32={self.to_float32}, expected_size={self.expected_size})')


@TRANSFORMS.register_module()
class LoadHandBoneAnnotations(BaseTransform):
    """Rasterise the polygons into one multi-label map with a bit per class.

    ``gt_seg_map`` is an (H, W) int32 array in which bit ``c`` is set where
    class ``c`` is present, so overlapping bones keep both labels. One 2-D
    integer map is what mmseg's stock geometric transforms (Resize,
    RandomResize, RandomFlip, RandomCrop, RandomRotate, Pad) already handle
    with nearest-neighbour sampling, which carries the bits exactly; an
    (H, W, 29) array would break ``Pad`` (cv2 takes at most 4 channels) and be
    packed with the wrong axes. Padding must fill 0 (no class), so set
    ``seg_pad_val=0`` in Pad/RandomRotate and the data preprocessor. 29
    classes use bits 0..28 (< 2**31). ``MultiLabelSegDataPreProcessor``
    unpacks the map to (29, H, W) on the device.

    Uses ``results['gt_polygons']`` when the dataset parsed them, else reads
    ``results['seg_map_path']``. Must run after the image is loaded: the
    mask takes the original image size (``ori_shape``), so it may also run
    after ``Resize`` to keep full-size ground truth for the metric. Polygons
    that reach past the border are clipped to the image (the dataset warns
    about them once); a polygon with no point inside the image raises
    :class:`AnnotationError`.

    Required keys: ``ori_shape`` and ``gt_polygons`` or ``seg_map_path``.
    Added keys: ``gt_seg_map``, ``seg_fields``.

    Args:
        num_classes (int): Number of classes (bits). Defaults to 29.
    """

    def __init__(self, num_classes: int = NUM_HAND_BONE_CLASSES) -> None:
        if not 1 <= num_classes <= 31:
            raise ValueError(f'num_classes must be in 1..31 to fit int32 bits, got {num_classes}')
        self.num_classes = num_classes

    def _polygons(self, results: dict) -> list:
        if 'gt_polygons' in results:
            return results['gt_polygons']
        return parse_annotation_file(results['seg_map_path'],
                                     {c: i for i, c in enumerate(HAND_BONE_CLASSES)})

    def transform(self, results: dict) -> dict:
        polygons = self._polygons(results)
        shape = tuple(results['ori_shape'][:2])
        count_polygons_past_border(polygons, shape, results.get('seg_map_path', '<polygons>'))
        results['gt_seg_map'] = rasterize_bitmask(polygons, shape, self.num_classes)
        results.setdefault('seg_fields', [])
        if 'gt_seg_map' not in results['seg_fields']:
            results['seg_fields'].append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_classes={self.num_classes})'
