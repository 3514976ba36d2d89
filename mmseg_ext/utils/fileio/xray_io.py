"""Reading X-ray files (PNG 8/16-bit, grey or colour, DICOM) as uint8 grey.

The one owner of image reading outside (and inside) the data pipeline:
``LoadXRayImage``, the tools and the submission checker all call it.
"""
import os.path as osp
import struct
from typing import Tuple

import cv2
import numpy as np


class ImageDecodeError(ValueError):
    """Raised for an image file that cannot be decoded; names the file."""


def _to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (values.astype(np.float64) - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def decode_raster(content: bytes, path: str) -> np.ndarray:
    """Decode PNG/JPEG bytes to (H, W) uint8 grey; 16-bit is scaled by 255/65535."""
    img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageDecodeError(f'{path}: cannot decode image (corrupt, truncated or not an image)')
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        img = cv2.cvtColor(img, code)
    if img.dtype == np.uint16:
        img = _to_uint8(img, 0, 65535)
    elif img.dtype != np.uint8:
        raise ImageDecodeError(f'{path}: unsupported pixel type {img.dtype}')
    return img


def _first(value) -> float:
    """A DICOM value, or the first of a multi-valued one, as a float."""
    many = hasattr(value, '__len__') and not isinstance(value, str)
    return float(value[0]) if many else float(value)


def _window(ds) -> tuple:
    """First (center, width) of the VOI window, or None when absent."""
    center, width = ds.get('WindowCenter'), ds.get('WindowWidth')
    if center is None or width is None:
        return None
    return _first(center), _first(width)


def decode_dicom(content: bytes, path: str) -> np.ndarray:
    """Decode DICOM bytes to (H, W) uint8 grey.

    Applies the modality LUT (Rescale Slope/Intercept), then the VOI window
    (DICOM's linear window formula) or the VOI LUT when present, else the
    data's min-max; MONOCHROME1 is inverted so bone is bright.
    """
    import io

    import pydicom
    from pydicom.errors import InvalidDicomError
    try:
        ds = pydicom.dcmread(io.BytesIO(content))
        pixels = ds.pixel_array
    except InvalidDicomError as err:
        raise ImageDecodeError(f'{path}: not a valid DICOM file ({err})') from err
    except (NotImplementedError, RuntimeError) as err:
        syntax = getattr(getattr(ds, 'file_meta', None), 'TransferSyntaxUID', 'unknown')
        raise ImageDecodeError(
            f'{path}: cannot decode pixel data with transfer syntax {syntax} '
            f'({getattr(syntax, "name", "")}); install a decoder such as '
            f'pylibjpeg + pylibjpeg-libjpeg/openjpeg or python-gdcm ({err})') from err
    except (AttributeError, KeyError, ValueError, EOFError, OSError) as err:
        raise ImageDecodeError(f'{path}: corrupt or truncated DICOM ({err})') from err
    if pixels.ndim != 2:
        raise ImageDecodeError(f'{path}: expected one grey frame, got pixel array {pixels.shape}')
    from pydicom.pixels import apply_modality_lut, apply_voi_lut
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    window = _window(ds)
    if window is not None:
        center, width = window
        low = center - 0.5 - (width - 1) / 2
        img = _to_uint8(values, low, low + width - 1)
    else:
        if 'VOILUTSequence' in ds:
            values = apply_voi_lut(values, ds).astype(np.float64)
        img = _to_uint8(values, values.min(), values.max())
    if ds.get('PhotometricInterpretation', 'MONOCHROME2') == 'MONOCHROME1':
        img = 255 - img
    return img


def decode_xray(content: bytes, path: str) -> np.ndarray:
    """Decode an X-ray file's bytes to (H, W) uint8 by its suffix."""
    if _is_dicom(path):
        return decode_dicom(content, path)
    return decode_raster(content, path)


def _is_dicom(path: str) -> bool:
    return osp.splitext(path)[1].lower() in ('.dcm', '.dicom')


def read_xray(path: str) -> np.ndarray:
    """Read an X-ray file from local disk as (H, W) uint8 grey.

    Raises:
        FileNotFoundError: The file cannot be opened.
        ImageDecodeError: The file cannot be decoded; the message names it.
    """
    try:
        with open(path, 'rb') as f:
            content = f.read()
    except OSError as err:
        raise FileNotFoundError(f'{path}: cannot read image ({err})') from err
    return decode_xray(content, path)


_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def read_xray_shape(path: str) -> Tuple[int, int]:
    """(H, W) of an X-ray file from its header (PNG IHDR, DICOM Rows/Columns).

    Reads a few bytes instead of decoding the pixels, so a dataset can check
    every annotation against its image's size before training starts. Other
    formats fall back to decoding the image.
    """
    if _is_dicom(path):
        import pydicom
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            return int(ds.Rows), int(ds.Columns)
        except Exception:  # noqa: BLE001  (let the full decoder name the problem)
            return read_xray(path).shape[:2]
    with open(path, 'rb') as f:
        header = f.read(24)
    if header[:8] == _PNG_SIGNATURE and header[12:16] == b'IHDR':
        width, height = struct.unpack('>II', header[16:24])
        return height, width
    return read_xray(path).shape[:2]
