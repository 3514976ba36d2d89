
import cv2
import numpy as np
import pytest

from mmseg_ext.datasets.phantoms import encode_dicom, render_hand
from mmseg_ext.datasets.transforms import LoadHandBoneAnnotations, LoadXRayImage
from mmseg_ext.utils.fileio.xray_io import ImageDecodeError
from mmseg_ext.utils.formats.annotation_json import AnnotationError


@pytest.fixture(scope='module')
def phantom():
    img, bones = render_hand(96, np.random.default_rng(3), left=False)
    return img, bones


def _load(path, **kwargs):
    return LoadXRayImage(**kwargs)(dict(img_path=str(path)))


def test_png_8bit_grey_gives_three_equal_uint8_planes(phantom, tmp_path):
    img, _ = phantom
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    out = _load(tmp_path / 'a.png')
    assert out['img'].dtype == np.uint8 and out['img'].shape == (96, 96, 3)
    assert (out['img'] == img[..., None]).all()
    assert out['ori_shape'] == (96, 96)
    assert _load(tmp_path / 'a.png', num_channels=1)['img'].shape == (96, 96, 1)


def test_pixels_already_read_are_used_and_never_written(phantom, tmp_path):
    from mmseg_ext.utils.fileio.xray_io import read_xray
    img, _ = phantom
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    shared = read_xray(str(tmp_path / 'a.png'))
    for num_channels in (1, 3):
        expected = _load(tmp_path / 'a.png', num_channels=num_channels)
        out = LoadXRayImage(num_channels=num_channels)(
            dict(img_path=str(tmp_path / 'missing.png'), xray=shared))  # the file is not read
        assert 'xray' not in out and (out['img'] == expected['img']).all()
        out['img'][:] = 0  # a later step writing into the image
        assert (shared == img).all()


def test_png_16bit_and_colour(phantom, tmp_path):
    img, _ = phantom
    cv2.imwrite(str(tmp_path / 'b.png'), img.astype(np.uint16) * 257)
    assert (_load(tmp_path / 'b.png')['img'][..., 0] == img).all()
    cv2.imwrite(str(tmp_path / 'c.png'), np.repeat(img[..., None], 3, axis=2))
    assert (_load(tmp_path / 'c.png')['img'][..., 0] == img).all()


@pytest.mark.parametrize('monochrome1', [False, True])
def test_dicom_equals_png_of_same_phantom(phantom, tmp_path, monochrome1):
    img, _ = phantom
    cv2.imwrite(str(tmp_path / 'x.png'), img)
    (tmp_path / 'x.dcm').write_bytes(encode_dicom(img, monochrome1=monochrome1))
    png = _load(tmp_path / 'x.png')['img'].astype(int)
    dcm = _load(tmp_path / 'x.dcm')['img'].astype(int)
    assert np.abs(png - dcm).max() <= 1


def test_dicom_without_window_uses_min_max(phantom, tmp_path):
    import pydicom
    img, _ = phantom
    (tmp_path / 'x.dcm').write_bytes(encode_dicom(img, monochrome1=False))
    ds = pydicom.dcmread(str(tmp_path / 'x.dcm'))
    del ds.WindowCenter, ds.WindowWidth
    ds.save_as(str(tmp_path / 'y.dcm'))
    out = _load(tmp_path / 'y.dcm')['img'][..., 0].astype(float)
    expected = (img - img.min()) * 255.0 / (img.max() - img.min())
    assert np.abs(out - expected).max() <= 1


def test_compressed_dicom_without_decoder_names_file_and_package(phantom, tmp_path):
    import pydicom
    from pydicom.uid import JPEG2000Lossless
    img, _ = phantom
    (tmp_path / 'x.dcm').write_bytes(encode_dicom(img, monochrome1=False))
    ds = pydicom.dcmread(str(tmp_path / 'x.dcm'))
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.PixelData = pydicom.encaps.encapsulate([b'\xff\x4f\xff\x51' + b'\x00' * 64])
    ds['PixelData'].VR = 'OB'
    ds.save_as(str(tmp_path / 'j2k.dcm'), enforce_file_format=True)
    with pytest.raises(ImageDecodeError, match=r'j2k\.dcm.*(pylibjpeg|gdcm)'):
        _load(tmp_path / 'j2k.dcm')


@pytest.mark.parametrize('name,content,message', [
    ('trunc.png', 'png_half', 'cannot decode'),
    ('junk.png', b'not an image at all', 'cannot decode'),
    ('trunc.dcm', 'dcm_half', 'DICOM'),
    ('junk.dcm', b'\x00' * 10, 'DICOM'),
])
def test_corrupt_files_are_named(phantom, tmp_path, name, content, message):
    img, _ = phantom
    if content == 'png_half':
        data = cv2.imencode('.png', img)[1].tobytes()
        content = data[:len(data) // 2]
    elif content == 'dcm_half':
        data = encode_dicom(img, monochrome1=False)
        content = data[:len(data) // 2]
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ImageDecodeError, match=message) as err:
        _load(tmp_path / name)
    assert name in str(err.value)


def test_unexpected_size_is_named(phantom, tmp_path):
    img, _ = phantom
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    with pytest.raises(ValueError, match=r'a\.png: image is 96x96, expected 2048x2048'):
        _load(tmp_path / 'a.png', expected_size=(2048, 2048))


def test_annotations_keep_overlaps(phantom):
    img, bones = phantom
    from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
    polygons = [(HAND_BONE_CLASSES.index(k), v) for k, v in bones.items()]
    results = LoadHandBoneAnnotations()(dict(ori_shape=img.shape, gt_polygons=polygons))
    bits = results['gt_seg_map']
    assert bits.dtype == np.int32 and bits.shape == img.shape
    assert results['seg_fields'] == ['gt_seg_map']
    for class_index, pts in polygons:
        reference = np.zeros(img.shape, np.uint8)
        cv2.fillPoly(reference, [np.rint(pts).astype(np.int32)], 1)
        assert (((bits >> class_index) & 1) == reference).all()
    popcount = np.array([bin(v).count('1') for v in bits.ravel()])
    assert popcount.max() >= 2, 'phantom carpals must overlap'


def test_polygon_past_the_border_is_clipped_like_fill_poly():
    """A point at x = -1 or a polygon running past the bottom edge: the in-image part."""
    points = np.array([[-1, 10], [50, 5], [60, 140], [5, 130]], np.float32)
    results = LoadHandBoneAnnotations()(dict(ori_shape=(96, 96), gt_polygons=[(3, points)],
                                             seg_map_path='x.json'))
    reference = np.zeros((96, 96), np.uint8)
    # The loader of boostcampaitech8/pro-cv-semanticsegmentation-cv-11:
    cv2.fillPoly(reference, [np.rint(points).astype(np.int32)], 1)
    assert reference.sum() > 1000
    assert (((results['gt_seg_map'] >> 3) & 1) == reference).all()


def test_polygon_with_no_point_inside_is_named():
    polygons = [(0, np.array([[100, 0], [200, 0], [150, 10]], np.float32))]
    with pytest.raises(AnnotationError, match=r'x\.json.*no point inside the 96x96'):
        LoadHandBoneAnnotations()(dict(ori_shape=(96, 96), gt_polygons=polygons,
                                       seg_map_path='x.json'))
