"""The multi-label training and prediction path shared by all our segmentors."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from mmseg_ext.utils.geometry import rotation_matrix
from mmseg_ext.utils.mask_rule import MaskRule, check_test_cfg
from torch import Tensor


def padding_of(meta: dict) -> List[int]:
    """(left, right, top, bottom) padding that the data preprocessor added."""
    return list(meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0])))


def valid_pixel_mask(data_samples: Sequence[SegDataSample], size: Sequence[int],
                     device: torch.device) -> Optional[Tensor]:
    """(N, 1, H, W) mask that is False on padding, or None when nothing is padded."""
    paddings = [padding_of(s.metainfo) for s in data_samples]
    if not any(any(p) for p in paddings):
        return None
    height, width = size
    valid = torch.zeros((len(paddings), 1, height, width), dtype=torch.bool, device=device)
    for i, (left, right, top, bottom) in enumerate(paddings):
        valid[i, :, top:height - bottom, left:width - right] = True
    return valid


def unrotate(logits: Tensor, angle: float) -> Tensor:
    """Undo ``RotateView(angle)`` on (1, C, H, W) logits (bilinear, border values)."""
    height, width = logits.shape[-2:]
    forward = torch.eye(3, dtype=torch.float64)
    forward[:2] = torch.from_numpy(rotation_matrix(height, width, angle))
    # pixel -> normalised coordinates (align_corners=False)
    to_norm = torch.tensor([[2 / width, 0, 1 / width - 1], [0, 2 / height, 1 / height - 1],
                            [0, 0, 1]], dtype=torch.float64)
    theta = (to_norm @ forward @ torch.linalg.inv(to_norm))[:2].float()
    grid = torch.nn.functional.affine_grid(theta[None].to(logits.device), list(logits.shape),
                                           align_corners=False)
    return torch.nn.functional.grid_sample(logits, grid, mode='bilinear',
                                           padding_mode='border', align_corners=False)


def undo_test_transforms(logits: Tensor, meta: dict) -> Tensor:
    """Undo on (1, C, H, W) logits what the test pipeline did to the image: the
    preprocessor's padding, a ``RotateView`` rotation, ``RandomFlip``'s flip and
    ``HandSideNormalize``'s."""
    height, width = logits.shape[-2:]
    left, right, top, bottom = padding_of(meta)
    logits = logits[..., top:height - bottom, left:width - right]
    if meta.get('rotate_angle'):
        logits = unrotate(logits, meta['rotate_angle'])
    if meta.get('flip', False):
        direction = meta.get('flip_direction', 'horizontal')
        logits = logits.flip(dims=(3, ) if direction == 'horizontal' else (2, ))
    if meta.get('hand_flip', False):
        logits = logits.flip(dims=(3, ))
    return logits


def _integer_factors(in_size: Sequence[int], out_size: Sequence[int]) -> Optional[tuple]:
    factors = [o // i for i, o in zip(in_size, out_size)]
    if all(f >= 1 and f * i == o for f, i, o in zip(factors, in_size, out_size)):
        return tuple(factors)
    return None


def _boxes_on_host(positive: Tensor) -> List[List[int]]:
    """Per class of (C, h, w) bool: inclusive [top, bottom, left, right], or -1s
    when empty. Computed on the device; one transfer (one synchronisation)."""
    rows_any = positive.any(dim=2).to(torch.uint8)
    cols_any = positive.any(dim=1).to(torch.uint8)
    empty = rows_any.amax(dim=1) == 0
    top = rows_any.argmax(dim=1)
    bottom = rows_any.shape[1] - 1 - rows_any.flip(1).argmax(dim=1)
    left = cols_any.argmax(dim=1)
    right = cols_any.shape[1] - 1 - cols_any.flip(1).argmax(dim=1)
    boxes = torch.stack([top, bottom, left, right], dim=1)
    return boxes.masked_fill(empty[:, None], -1).tolist()


def upsample_and_threshold(logits: Tensor, out_size: Sequence[int], thresholds: Tensor,
                           align_corners: bool) -> Tensor:
    """``sigmoid(resize(logits)) > threshold`` per class without the full float tensor.

    A bilinear output pixel is a convex combination of its (up to) 4 source
    logits, so it can pass the threshold only next to a source cell that
    (nearly) does. For an integer scale factor (and ``align_corners=False``)
    each class is therefore interpolated only on the bounding box of the
    cells within 1e-3 of passing, plus a 2-cell margin; the box maps onto the
    same output pixels with the same source coordinates, so the mask is that
    of full interpolation (up to float rounding of values within ~1e-7 of
    the threshold). Other sizes fall back to full interpolation.

    Args:
        logits (Tensor): (C, h, w) logits.
        out_size (Sequence[int]): (H, W) original size.
        thresholds (Tensor): (C, 1, 1) probability thresholds.
        align_corners (bool): As used by the model.

    Returns:
        Tensor: (C, H, W) bool mask.
    """
    out_size = tuple(int(v) for v in out_size)
    factors = _integer_factors(logits.shape[-2:], out_size)
    if factors is None or align_corners:
        full = resize(logits[None], size=out_size, mode='bilinear',
                      align_corners=align_corners, warning=False)[0]
        return full.sigmoid() > thresholds
    fy, fx = factors
    height, width = logits.shape[-2:]
    masks = torch.zeros((logits.shape[0], ) + out_size, dtype=torch.bool, device=logits.device)
    positive = logits > torch.logit(thresholds) - 1e-3
    for c, (top, bottom, left, right) in enumerate(_boxes_on_host(positive)):
        if top < 0:
            continue  # no cell near the threshold: the class is empty
        y0, y1 = max(top - 2, 0), min(bottom + 3, height)
        x0, x1 = max(left - 2, 0), min(right + 3, width)
        crop = logits[c, y0:y1, x0:x1][None, None]
        up = torch.nn.functional.interpolate(
            crop, size=((y1 - y0) * fy, (x1 - x0) * fx), mode='bilinear', align_corners=False)
        masks[c, y0 * fy:y1 * fy, x0 * fx:x1 * fx] = up[0, 0].sigmoid() > thresholds[c, 0, 0]
    return masks


def gaussian_window(height: int, width: int, sigma_scale: float = 0.125,
                    device: Optional[torch.device] = None) -> Tensor:
    """(height, width) Gaussian importance map, 1 at the centre (nnU-Net's
    sigma = ``sigma_scale`` x side), floored at 1e-6 so pixels that only a
    window's corner covers (image corners) keep a usable weight."""
    ys = torch.arange(height, device=device, dtype=torch.float32) - (height - 1) / 2
    xs = torch.arange(width, device=device, dtype=torch.float32) - (width - 1) / 2
    gy = torch.exp(-0.5 * (ys / (sigma_scale * height)) ** 2)
    gx = torch.exp(-0.5 * (xs / (sigma_scale * width)) ** 2)
    window = gy[:, None] * gx[None, :]
    return window.clamp_min(1e-6)


def window_positions(size: Sequence[int], crop: Sequence[int],
                     stride: Sequence[int]) -> List[tuple]:
    """(y1, y2, x1, x2) of the sliding windows covering an image of ``size``."""
    (h_img, w_img), (h_crop, w_crop), (h_stride, w_stride) = size, crop, stride
    h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
    positions = []
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, h_img)
            x2 = min(w_idx * w_stride + w_crop, w_img)
            positions.append((max(y2 - h_crop, 0), y2, max(x2 - w_crop, 0), x2))
    return positions


class MultiLabelSegmentorMixin:
    """Sigmoid-per-class losses and thresholded prediction for EncoderDecoders.

    Mixed into mmseg's ``EncoderDecoder`` and ``CascadeEncoderDecoder``: the
    heads only produce logits (``head.forward``); the losses in each head's
    ``loss_decode`` are applied here to (N, C, H, W) targets, ignoring padded
    pixels; prediction resizes logits to the original image size, then
    thresholds each class independently (never argmax).

    ``test_cfg`` keys read here: ``mode='slide'`` with ``crop_size``,
    ``stride``, ``gaussian`` (weight each window's logits by a Gaussian
    centred on it instead of mmseg's flat average; default False) and
    ``window_batch`` (windows per forward pass, bounding memory; default 1);
    ``threshold`` (float or one per class,
    default 0.5) and ``output_probs`` (keep the (C, H, W) probabilities in
    ``seg_logits``; default False: masks only, which is all the Dice metric,
    ``--out`` and the CSV need, thresholded without materialising the
    full-size float logits, see :func:`upsample_and_threshold`). A pixel is
    foreground when ``sigmoid(upsampled logit) > threshold``. ``cleanup``
    (optional, off by default): ``dict(keep_largest=True, min_area=N)`` per
    class, see :func:`mmseg_ext.utils.mask_cleanup.clean_masks`; ``crf=True``
    refines with a dense CRF on the image (optional ``pydensecrf2``). Threshold,
    cleanup and CRF are the model's :class:`~mmseg_ext.utils.mask_rule.MaskRule`;
    an unknown ``test_cfg`` key is an error when the model is built.
    ``pred_sem_seg`` holds the (C, H, W) bool masks; ``seg_logits`` (mmseg's
    field name), when kept, holds probabilities, not logits.
    """

    def __init__(self, *args, **kwargs) -> None:
        check_test_cfg(kwargs.get('test_cfg'))
        super().__init__(*args, **kwargs)

    @property
    def mask_rule(self) -> MaskRule:
        """Thresholds and cleanup from ``test_cfg``."""
        return MaskRule.from_test_cfg(self.test_cfg)

    def head_losses(self, head: nn.Module, logits: Tensor,
                    data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """Apply ``head.loss_decode`` to logits resized to the target size."""
        target = torch.stack([s.gt_sem_seg.data for s in data_samples])
        logits = resize(logits, size=target.shape[2:], mode='bilinear',
                        align_corners=head.align_corners)
        valid = valid_pixel_mask(data_samples, target.shape[2:], logits.device)
        loss_fns = head.loss_decode if isinstance(head.loss_decode, nn.ModuleList) \
            else [head.loss_decode]
        losses: Dict[str, Tensor] = {}
        for loss_fn in loss_fns:
            value = loss_fn(logits, target, valid)
            losses[loss_fn.loss_name] = losses.get(loss_fn.loss_name, 0) + value
        return losses

    def slide_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Sliding windows, blended flat (mmseg) or Gaussian-weighted.

        Logits of each window are added in place (never padded to the full
        image), so memory is the output plus ``window_batch`` windows.
        """
        if not self.test_cfg.get('gaussian', False):
            return super().slide_inference(inputs, batch_img_metas)
        crop = tuple(self.test_cfg['crop_size'])
        positions = window_positions(inputs.shape[2:], crop, self.test_cfg['stride'])
        num = inputs.shape[0]
        preds = inputs.new_zeros((num, self.out_channels) + tuple(inputs.shape[2:]))
        weights = inputs.new_zeros((1, 1) + tuple(inputs.shape[2:]))
        step = max(int(self.test_cfg.get('window_batch', 1)), 1)
        for start in range(0, len(positions), step):
            group = positions[start:start + step]
            crops = torch.cat([inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
            metas = [dict(batch_img_metas[0], img_shape=crops.shape[2:])] * crops.shape[0]
            logits = self.encode_decode(crops, metas)
            window = gaussian_window(*crops.shape[2:], device=inputs.device)
            for k, (y1, y2, x1, x2) in enumerate(group):
                preds[:, :, y1:y2, x1:x2] += logits[k * num:(k + 1) * num] * window
                weights[:, :, y1:y2, x1:x2] += window
        return preds / weights

    @torch.no_grad()
    def add_probs(self, data: dict, total: Optional[Tensor], weight: Union[float, Tensor] = 1.0
                  ) -> Tensor:
        """Add ``weight`` x this model's (C, H, W) probabilities for one image into ``total``.

        Each class is upsampled to the original size, passed through the
        sigmoid and added in turn, so besides ``total`` only one full-size
        plane exists at a time (ensembles: memory flat in the members).

        Args:
            data (dict): One test-pipeline sample, collated (``pseudo_collate``).
            total (Tensor, optional): Running (C, H, W) float32 sum; None starts one.
            weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.

        Returns:
            Tensor: ``total`` with this model's weighted probabilities added.
        """
        data = self.data_preprocessor(data, False)
        meta = data['data_samples'][0].metainfo
        logits = self.inference(data['inputs'], [meta])
        logits = undo_test_transforms(logits[:1].float(), meta)[0]
        size = tuple(int(v) for v in meta['ori_shape'][:2])
        if total is None:
            total = logits.new_zeros((logits.shape[0], ) + size)
        weights = torch.as_tensor(weight, dtype=torch.float32, device=logits.device)
        weights = weights.flatten().expand(logits.shape[0])
        for c in range(logits.shape[0]):
            plane = resize(logits[c][None, None], size=size, mode='bilinear',
                           align_corners=self.align_corners, warning=False)[0, 0]
            total[c].add_(plane.sigmoid_(), alpha=float(weights[c]))
        return total

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[List[SegDataSample]] = None
                           ) -> List[SegDataSample]:
        """Per sample: original-size probabilities and thresholded (C, H, W) masks."""
        seg_logits = seg_logits.float()  # mixed precision: threshold float32 probabilities
        num_images, num_classes = seg_logits.shape[:2]
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=seg_logits.shape[2:]))
                            for _ in range(num_images)]
        rule = self.mask_rule
        thresholds = rule.thresholds(num_classes, seg_logits.device)
        output_probs = self.test_cfg.get('output_probs', False)
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            logits = undo_test_transforms(seg_logits[i:i + 1], meta)
            if output_probs or rule.crf:
                probs = resize(logits, size=meta['ori_shape'], mode='bilinear',
                               align_corners=self.align_corners, warning=False)[0].sigmoid_()
                sample.set_data({'pred_sem_seg': PixelData(data=rule(probs, meta.get('img_path')))})
                if output_probs:
                    sample.set_data({'seg_logits': PixelData(data=probs)})
            else:
                mask = upsample_and_threshold(logits[0], meta['ori_shape'], thresholds,
                                              self.align_corners)
                sample.set_data({'pred_sem_seg': PixelData(data=rule.finish(mask))})
        return data_samples
