"""The multi-label training and prediction path shared by all our segmentors."""
import difflib
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from torch import Tensor

from mmseg_ext.models.utils import gaussian_slide, valid_pixel_mask
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.postprocessing.box_merge import ViewStack, rule_masks
from mmseg_ext.utils.postprocessing.mask_cleanup import CLEANUP_KEYS
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule, cleanup_steps
from mmseg_ext.utils.postprocessing.original_size import add_upsampled
from mmseg_ext.utils.postprocessing.raw_views import RawView, RawViews, transforms_of
from mmseg_ext.utils.postprocessing.view_geometry import undo_test_transforms


def check_keys(section: str, given: Optional[Mapping], known: Sequence[str]) -> None:
    """Raise ``KeyError`` on a key of ``given`` outside ``known``, naming the nearest
    known one.

    Args:
        section (str): Where ``given`` is in the config (e.g. 'test_cfg').
        given (Mapping, optional): The config's dict; None has no keys.
        known (Sequence[str]): The keys read.
    """
    for key in (given or {}):
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ''
            raise KeyError(f'{section}: unknown key {key!r}{hint} (known: {", ".join(known)})')


class MultiLabelSegmentorMixin:
    """Sigmoid-per-class losses and thresholded prediction for EncoderDecoders.

    Mixed into mmseg's ``EncoderDecoder`` and ``CascadeEncoderDecoder``: the
    heads only produce logits (``head.forward``); the losses in each head's
    ``loss_decode`` are applied here to (N, C, H, W) targets, ignoring padded
    pixels. The ways out of the network:

    - :meth:`predict_views`: one image's test-size logits per view (TTA views,
      ensemble members), merged into masks on boxes by
      :func:`~mmseg_ext.utils.postprocessing.box_merge.rule_masks`.
    - :meth:`add_probs`: one image's full-size probabilities added into a
      running sum (a dense CRF, the threshold tuner), as an ensemble member's
      ``add_probs`` does.
    - ``predict``/``test_step`` (mmseg's) -> :meth:`postprocess_result`: the
      final (C, H, W) bool masks in ``pred_sem_seg``, the model's
      :class:`~mmseg_ext.utils.postprocessing.mask_rule.MaskRule` applied once per image.

    ``test_cfg`` keys: ``mode='slide'`` with ``crop_size``, ``stride``,
    ``gaussian`` (Gaussian-weighted windows instead of mmseg's flat average;
    default False) and ``window_batch`` (windows per forward pass; default 1);
    ``threshold`` (float or one per class, default 0.5), ``cleanup``
    (``dict(keep_largest=True, min_area=N)`` per class, see
    :func:`mmseg_ext.utils.postprocessing.mask_cleanup.clean_masks`) and ``crf`` (dense CRF
    on the image, optional ``pydensecrf2``): the mask rule. An unknown key is
    an error when the model is built.
    """

    # The test_cfg keys of the inference mode; the mask rule's are MaskRule.KEYS.
    SLIDE_KEYS = ('mode', 'crop_size', 'stride', 'gaussian', 'window_batch')

    def __init__(self, *args, **kwargs) -> None:
        self.check_test_cfg(kwargs.get('test_cfg'))
        super().__init__(*args, **kwargs)

    @classmethod
    def check_test_cfg(cls, test_cfg: Optional[Mapping]) -> None:
        """Raise ``KeyError`` on a ``test_cfg`` key, or ``test_cfg.cleanup`` key, that
        no segmentor reads, naming the nearest known one."""
        check_keys('test_cfg', test_cfg, cls.SLIDE_KEYS + MaskRule.KEYS)
        for step in cleanup_steps((test_cfg or {}).get('cleanup')):
            check_keys('test_cfg.cleanup', step, CLEANUP_KEYS)

    @property
    def mask_rule(self) -> MaskRule:
        """Thresholds, cleanup and CRF from ``test_cfg``."""
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

    def decode_logits(self, feats: List[Tensor]) -> Tensor:
        """The decode head's logits of the backbone (and neck) features."""
        return self.decode_head.forward(feats)

    def test_size_logits(self, inputs: Tensor) -> Tensor:
        """(N, C, H, W) logits of normalised, padded ``inputs``, resized to their size: the
        network forward of prediction and of the exported graph
        (:class:`~mmseg_ext.deploy.export.LogitsNet`)."""
        logits = self.decode_logits(self.extract_feat(inputs))
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """mmseg's test-time forward of the padded images or of the windows of a slide,
        whose size is the test size: :meth:`test_size_logits`."""
        return self.test_size_logits(inputs)

    def slide_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Sliding windows, blended flat (mmseg) or Gaussian-weighted
        (:func:`~mmseg_ext.models.utils.gaussian_slide`)."""
        if not self.test_cfg.get('gaussian', False):
            return super().slide_inference(inputs, batch_img_metas)
        return gaussian_slide(self.encode_decode, inputs, batch_img_metas[0], self.out_channels,
                              self.test_cfg['crop_size'], self.test_cfg['stride'],
                              self.test_cfg.get('window_batch', 1))

    def add_original_size(self, logits: Tensor, meta: dict, total: Optional[Tensor] = None,
                          weight: Union[float, Tensor] = 1.0, space: str = 'prob') -> Tensor:
        """Add one image's (C, h, w) test-size logits, test transforms undone and
        upsampled to its original size, into ``total`` as probabilities or logits
        (:func:`~mmseg_ext.utils.postprocessing.original_size.add_upsampled`)."""
        logits = undo_test_transforms(logits[None].float(), meta)[0]
        return add_upsampled(total, logits, meta['ori_shape'][:2], weight, self.align_corners,
                             space)

    def view_stack(self, meta: dict, space: str = 'prob') -> ViewStack:
        """An empty :class:`~mmseg_ext.utils.postprocessing.box_merge.ViewStack` for one
        image (``meta['ori_shape']``); 'vote' uses the rule's thresholds."""
        thresholds = self.mask_rule.thresholds(self.out_channels) if space == 'vote' else None
        return ViewStack(meta['ori_shape'][:2], space, self.align_corners, thresholds)

    def add_view(self, stack: ViewStack, logits: Tensor, meta: dict) -> ViewStack:
        """Add one view's (C, h, w) test-size logits, its test transforms undone, to
        ``stack`` (mmseg's ``predict`` path, :meth:`masks_of`)."""
        return stack.add(undo_test_transforms(logits[None].float(), meta)[0])

    def network_logits(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """(N, C, h, w) logits before their resize to the input size: the decode head's
        output in 'whole' mode (a 1/4-size map for HRNet); in 'slide' mode the assembled
        windows (each already resized), at the input size."""
        if self.test_cfg.get('mode', 'whole') == 'whole':
            return self.decode_logits(self.extract_feat(inputs))
        return self.inference(inputs, batch_img_metas)

    @torch.no_grad()
    def predict_raw_views(self, data: dict, space: str = 'prob') -> List[RawViews]:
        """Per image of a collated batch of views, its views as the network gave them.

        Args:
            data (dict): ``inputs`` and ``data_samples``, each a list with one
                collated batch per view (a ``TestTimeAug`` pipeline through
                ``pseudo_collate``).
            space (str): How the views merge ('prob', 'logit', 'vote'; 'vote' uses the
                rule's thresholds).

        Returns:
            list[RawViews]: One per image, views in order.
        """
        num_views = len(data[next(iter(data))])
        thresholds = self.mask_rule.thresholds(self.out_channels).flatten().tolist() \
            if space == 'vote' else None
        images: List[RawViews] = []
        for index in range(num_views):
            view = self.data_preprocessor({key: value[index] for key, value in data.items()},
                                          False)
            metas = [sample.metainfo for sample in view['data_samples']]
            logits = self.network_logits(view['inputs'], metas)
            if index == 0:
                images = [RawViews(tuple(meta['ori_shape'][:2]), space, self.align_corners,
                                   thresholds) for meta in metas]
            input_size = tuple(view['inputs'].shape[2:])
            for raw, image_logits, meta in zip(images, logits, metas):
                raw.views.append(RawView(image_logits, input_size, transforms_of(meta)))
        return images

    def predict_views(self, data: dict, space: str = 'prob') -> List[ViewStack]:
        """Per image of a collated batch of views, the stack of its views' test-size
        logits, test transforms undone (:meth:`predict_raw_views`, then
        :meth:`~mmseg_ext.utils.postprocessing.raw_views.RawViews.stack`).

        Args:
            data (dict): As for :meth:`predict_raw_views`.
            space (str): How the stack merges its views ('prob', 'logit', 'vote').

        Returns:
            list[ViewStack]: One per image, views in order.
        """
        return [raw.stack() for raw in self.predict_raw_views(data, space)]

    @torch.no_grad()
    def add_probs(self, data: dict, total: Optional[Tensor] = None,
                  weight: Union[float, Tensor] = 1.0) -> Tensor:
        """Add ``weight`` x one image's (C, H, W) original-size probabilities into ``total``.

        Args:
            data (dict): One test-pipeline sample, collated (``pseudo_collate``).
            total (Tensor, optional): Running float32 sum on the model's device;
                None starts one.
            weight (float | Tensor): Scalar or (C, 1, 1) per-class weight.

        Returns:
            Tensor: ``total`` (or the new sum); the mask rule is not applied.
        """
        data = self.data_preprocessor(data, False)
        meta = data['data_samples'][0].metainfo
        logits = self.inference(data['inputs'], [meta])
        return self.add_original_size(logits[0], meta, total, weight)

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[List[SegDataSample]] = None
                           ) -> List[SegDataSample]:
        """Per sample: the (C, H, W) bool masks of the mask rule, in ``pred_sem_seg``."""
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=seg_logits.shape[2:]))
                            for _ in range(seg_logits.shape[0])]
        rule = self.mask_rule
        for logits, sample in zip(seg_logits, data_samples):
            masks = self.masks_of(logits, sample.metainfo, rule)
            sample.set_data({'pred_sem_seg': PixelData(data=masks)})
        return data_samples

    def masks_of(self, logits: Tensor, meta: dict, rule: MaskRule) -> Tensor:
        """(C, H, W) bool masks of one image's (C, h, w) test-size logits: the one-view case
        of :func:`~mmseg_ext.utils.postprocessing.box_merge.rule_masks` (thresholds on
        boxes, never the full-size float tensor; a CRF reads the image and refines the
        full-size probabilities).

        Args:
            logits (Tensor): (C, h, w) test-size logits of one image.
            meta (dict): Its metainfo (``ori_shape``, ``img_path``, the test transforms).
            rule (MaskRule): Thresholds, cleanup and CRF.
        """
        stack = self.add_view(self.view_stack(meta), logits, meta)
        image = read_xray(meta['img_path']) if rule.crf else None
        return rule_masks([stack], [1.0], rule, image)
