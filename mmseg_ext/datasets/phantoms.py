"""Synthetic hand X-ray phantoms in the competition layout.

Every phantom hand has all 29 bones as polygons: 19 finger bones (thumb:
distal + proximal phalanx + metacarpal as finger-1..3; each other finger:
distal, middle, proximal phalanx + metacarpal), 8 carpals in two rows that
overlap as real carpals do on a radiograph (Pisiform on Triquetrum,
Trapezium/Trapezoid, Hamate/Capitate), radius and ulna. The image is an
attenuation sum (soft tissue + bones, overlaps brighter) with blur and noise,
so bones that overlap on the mask also overlap on the image.
"""
import json
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes

# Finger rays, thumb first: (angle in degrees from vertical, base x, bone lengths
# distal..metacarpal as fractions of the image, bone half-width).
_RAYS = [
    (-48, 0.36, (0.060, 0.075, 0.110), 0.020),
    (-14, 0.43, (0.045, 0.060, 0.090, 0.170), 0.017),
    (-2, 0.50, (0.048, 0.068, 0.100, 0.175), 0.018),
    (9, 0.565, (0.046, 0.064, 0.094, 0.165), 0.017),
    (20, 0.62, (0.040, 0.050, 0.078, 0.150), 0.015),
]
# Carpals: name -> (centre x, centre y, half axes x, y, angle deg).
_CARPALS = {
    'Trapezium': (0.385, 0.615, 0.034, 0.027, -30),
    'Trapezoid': (0.435, 0.605, 0.026, 0.024, -10),
    'Capitate': (0.495, 0.620, 0.030, 0.045, 0),
    'Hamate': (0.560, 0.615, 0.032, 0.040, 15),
    'Scaphoid': (0.415, 0.680, 0.040, 0.024, -35),
    'Lunate': (0.490, 0.695, 0.030, 0.026, 0),
    'Triquetrum': (0.555, 0.680, 0.030, 0.024, 20),
    'Pisiform': (0.580, 0.665, 0.018, 0.018, 0),
}
_GAP = 0.006  # joint space between consecutive finger bones


def _ellipse(cx: float, cy: float, ax: float, ay: float, angle: float, n: int = 28) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([ax * np.cos(t), ay * np.sin(t)], axis=1)
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + [cx, cy]


def _capsule(p0: np.ndarray, p1: np.ndarray, half_w0: float, half_w1: float,
             n: int = 10) -> np.ndarray:
    """Bone from p0 to p1 (ends included): rounded ends, tapering width."""
    u = (p1 - p0) / np.linalg.norm(p1 - p0)
    p0, p1 = p0 + 0.8 * half_w0 * u, p1 - 0.8 * half_w1 * u
    v = np.array([-u[1], u[0]])
    phi = np.linspace(0, np.pi, n)[:, None]
    cap1 = p1 + half_w1 * (np.cos(phi) * v + 0.8 * np.sin(phi) * u)
    cap0 = p0 - half_w0 * (np.cos(phi) * v + 0.8 * np.sin(phi) * u)
    return np.concatenate([cap1, cap0])


def hand_bones(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Polygons (normalised coordinates) of the 29 bones of one right hand."""
    bones: Dict[str, np.ndarray] = {}
    finger_id = 1
    spread = rng.uniform(0.7, 1.25)
    for angle, base_x, lengths, half_w in _RAYS:
        a = np.deg2rad(angle * spread + rng.normal(0, 2))
        direction = np.array([np.sin(a), -np.cos(a)])
        start = np.array([base_x + rng.normal(0, 0.004), 0.585 + rng.normal(0, 0.004)])
        segments: List[Tuple[int, np.ndarray]] = []
        point = start
        # metacarpal first (proximal), then phalanges outwards.
        for k, length in enumerate(reversed(lengths)):
            length *= rng.uniform(0.92, 1.08)
            end = point + direction * length
            width = half_w * (1.0 - 0.12 * k)
            segments.append((len(lengths) - 1 - k, _capsule(point, end, width, width * 0.8)))
            point = end + direction * _GAP
        for index, poly in sorted(segments, key=lambda s: s[0]):
            bones[f'finger-{finger_id + index}'] = poly
        finger_id += len(lengths)
    for name, (cx, cy, ax, ay, ang) in _CARPALS.items():
        bones[name] = _ellipse(cx + rng.normal(0, 0.003), cy + rng.normal(0, 0.003),
                               ax * rng.uniform(0.9, 1.1), ay * rng.uniform(0.9, 1.1),
                               ang + rng.normal(0, 5))
    radius_top = np.array([0.445, 0.745]) + rng.normal(0, 0.003, 2)
    ulna_top = np.array([0.565, 0.755]) + rng.normal(0, 0.003, 2)
    bones['Radius'] = _capsule(np.array([0.455, 1.05]), radius_top, 0.030, 0.045)
    bones['Ulna'] = _capsule(np.array([0.565, 1.05]), ulna_top, 0.020, 0.024)
    return {name: bones[name] for name in HAND_BONE_CLASSES}


@dataclass(frozen=True)
class PhantomStyle:
    """How phantoms vary: pose, bone contrast, noise, foreign objects. Each range is drawn
    uniformly per image; the default is the original phantoms' (same draws, same images).

    Args:
        angle (tuple[float, float]): Rotation about the wrist, degrees, as |angle| (its
            sign is drawn too).
        scale (tuple[float, float]): Hand size factor.
        shift (float): Largest shift of the hand, as a fraction of the image side.
        density (tuple[float, float]): Bone attenuation against soft tissue's 0.25 (the
            bone contrast).
        noise (tuple[float, float]): Standard deviation of the Gaussian noise, grey levels.
        foreign_objects (tuple[int, int]): How many unlabelled bright objects (rings,
            screws, plates) lie on the hand, inclusive range.
    """
    angle: Tuple[float, float] = (0.0, 12.0)
    scale: Tuple[float, float] = (0.85, 1.05)
    shift: float = 0.04
    density: Tuple[float, float] = (0.45, 0.6)
    noise: Tuple[float, float] = (4.0, 4.0)
    foreign_objects: Tuple[int, int] = (0, 0)


# A training set that varies, and a set outside its ranges (for a shifted test set).
PHANTOM_STYLES = {
    'default': PhantomStyle(),
    'varied': PhantomStyle(angle=(0.0, 20.0), scale=(0.8, 1.1), density=(0.35, 0.7),
                           noise=(2.0, 10.0), foreign_objects=(0, 1)),
    'shifted': PhantomStyle(angle=(25.0, 35.0), scale=(0.65, 0.75), density=(0.22, 0.3),
                            noise=(14.0, 20.0), foreign_objects=(2, 3)),
}


def _pose(bones: Dict[str, np.ndarray], rng: np.random.Generator,
          left: bool, style: PhantomStyle) -> Dict[str, np.ndarray]:
    """Random rotation/scale/shift about the wrist; mirror for a left hand."""
    low, high = style.angle
    if low == 0:
        angle = np.deg2rad(rng.uniform(-high, high))
    else:
        angle = np.deg2rad(rng.uniform(low, high) * rng.choice([-1, 1]))
    scale = rng.uniform(*style.scale)
    shift = rng.uniform(-style.shift, style.shift, 2)
    centre = np.array([0.5, 0.65])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
    posed = {}
    for name, pts in bones.items():
        pts = (pts - centre) @ rot.T + centre + shift
        if left:
            pts = pts * [-1, 1] + [1, 0]
        posed[name] = pts
    return posed


def _foreign_object(attenuation: np.ndarray, hand: np.ndarray, rng: np.random.Generator) -> None:
    """A bright unlabelled object on the hand: a ring, a screw or a plate."""
    size = attenuation.shape[0]
    y, x = hand[rng.integers(len(hand))]
    kind = rng.integers(3)
    if kind == 0:
        cv2.circle(attenuation, (int(x), int(y)), max(2, int(size * 0.03)), 1.2,
                   max(1, size // 128))
    else:
        long_side, short_side = (0.08, 0.012) if kind == 1 else (0.12, 0.03)
        box = ((float(x), float(y)), (long_side * size, short_side * size),
               float(rng.uniform(0, 180)))
        cv2.fillPoly(attenuation, [np.rint(cv2.boxPoints(box)).astype(np.int32)], 1.2)


def render_hand(size: int, rng: np.random.Generator, left: bool,
                style: Optional[PhantomStyle] = None) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """Render one phantom: (size, size) uint8 image and pixel-coordinate polygons.

    Args:
        size (int): Image side in pixels.
        rng (np.random.Generator): Draws the hand, its pose and the image.
        left (bool): A left hand (mirrored).
        style (PhantomStyle, optional): How the phantoms vary; default the original's.
    """
    style = style or PhantomStyle()
    posed = _pose(hand_bones(rng), rng, left, style)
    bones = {k: np.clip(v * size, 0, size - 1) for k, v in posed.items()}
    attenuation = np.zeros((size, size), np.float32)
    tissue = np.zeros_like(attenuation)
    all_pts = np.concatenate(list(bones.values())).astype(np.int32)
    cv2.fillPoly(tissue, [cv2.convexHull(all_pts)], 1.0)
    k = max(3, int(size * 0.04) | 1)
    tissue = cv2.dilate(tissue, np.ones((k, k), np.uint8))
    attenuation += 0.25 * cv2.GaussianBlur(tissue, (k, k), 0)
    density = rng.uniform(*style.density)
    for pts in bones.values():
        mask = np.zeros_like(attenuation)
        cv2.fillPoly(mask, [np.rint(pts).astype(np.int32)], 1.0)
        rim = mask - cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, size // 256))
        attenuation += density * mask + 0.15 * rim
    if style.foreign_objects[1] > 0:
        hand = np.argwhere(tissue > 0)
        for _ in range(int(rng.integers(style.foreign_objects[0],
                                        style.foreign_objects[1] + 1))):
            _foreign_object(attenuation, hand, rng)
    blur = max(3, (size // 200) | 1)
    attenuation = cv2.GaussianBlur(attenuation, (blur, blur), 0)
    img = 20 + 200 * attenuation / max(float(attenuation.max()), 1e-6)
    low, high = style.noise
    img += rng.normal(0, low if low == high else rng.uniform(low, high), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), bones


def encode_png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return buf.tobytes()


def encode_dicom(img: np.ndarray, monochrome1: bool) -> bytes:
    """Encode a uint8 grey image as an uncompressed DICOM (DX) that decodes back to it.

    Stored value ``v`` (``255 - v`` for MONOCHROME1), modality LUT
    ``2 v - 100`` and window centre 155.5 / width 511, so the VOI window maps
    the modality values exactly back to 0..255.
    """
    import io

    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.1.1'
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[img.tobytes()[:4096].hex()])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'DX'
    ds.Rows, ds.Columns = img.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = 'MONOCHROME1' if monochrome1 else 'MONOCHROME2'
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    ds.WindowCenter, ds.WindowWidth = 155.5, 511
    stored = (255 - img) if monochrome1 else img
    ds.PixelData = stored.astype('<u2').tobytes()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def make_phantoms(out_dir: str, num_ids: int = 8, size: int = 512, seed: int = 0,
                  num_test_ids: Optional[int] = None, dicom: bool = False,
                  style: Optional[PhantomStyle] = None) -> Dict[str, int]:
    """Write phantoms as ``OUT/train/{DCM,outputs_json}/IDxxx`` and ``OUT/test/DCM/IDxxx``.

    Each ID holds a right and a left hand (``image<stamp>_R`` / ``_L``).

    Args:
        out_dir (str): Output folder.
        num_ids (int): Training IDs (2 images each). Defaults to 8.
        size (int): Image side in pixels. Defaults to 512.
        seed (int): Random seed; the output is a function of the arguments.
        num_test_ids (int, optional): Test IDs; defaults to ``max(1, num_ids // 4)``.
        dicom (bool): Write ``.dcm`` (alternating MONOCHROME2/MONOCHROME1)
            instead of ``.png``.
        style (PhantomStyle, optional): How the images vary (:data:`PHANTOM_STYLES`);
            default the original phantoms'.

    Returns:
        dict: Number of ``train`` and ``test`` images written.
    """
    num_test_ids = max(1, num_ids // 4) if num_test_ids is None else num_test_ids
    rng = np.random.default_rng(seed)
    counts = {'train': 0, 'test': 0}
    for split, ids in (('train', range(num_ids)), ('test', range(num_ids, num_ids + num_test_ids))):
        for id_index in ids:
            for side in ('R', 'L'):
                img, bones = render_hand(size, rng, left=side == 'L', style=style)
                stem = f'image{1661130828152 + 1000 * id_index + (side == "L")}_{side}'
                folder = f'ID{id_index:03d}'
                if dicom:
                    data = encode_dicom(img, monochrome1=counts[split] % 2 == 1)
                    name = stem + '.dcm'
                else:
                    data, name = encode_png(img), stem + '.png'
                atomic_write_bytes(data, osp.join(out_dir, split, 'DCM', folder, name))
                if split == 'train':
                    ann = {'annotations': [
                        {'label': label, 'points': np.round(pts, 1).tolist()}
                        for label, pts in bones.items()]}
                    atomic_write_bytes(json.dumps(ann).encode(),
                                       osp.join(out_dir, split, 'outputs_json', folder,
                                                stem + '.json'))
                counts[split] += 1
    return counts
