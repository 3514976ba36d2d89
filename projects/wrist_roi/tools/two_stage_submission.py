"""Stage 1 predicts all 29 bones; stage 2 re-predicts the 8 carpals on the
full-resolution carpal crop, replacing stage 1's carpal masks there.

``python projects/wrist_roi/tools/two_stage_submission.py --stage1 CFG:CKPT
    --stage2 CFG:CKPT --image-root DIR --submission out.csv [--margin 0.15]``
"""
import argparse
import os.path as osp
import time
from typing import Optional

import numpy as np
import torch

from mmseg_ext.apis import CheckpointMember
from mmseg_ext.apis.ensemble import ensemble_masks
from mmseg_ext.apis.member import parse_member
from mmseg_ext.utils.class_names import CARPAL_CLASSES, HAND_BONE_CLASSES
from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.fileio.file_scan import image_paths_by_name
from mmseg_ext.utils.fileio.xray_io import read_xray
from mmseg_ext.utils.formats.submission import SubmissionWriter
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule
from projects.wrist_roi.wrist_roi import carpal_box
from projects.wrist_roi.wrist_roi.crop_carpal_roi import CARPAL_START

# Stage 2 reads the image and crops the box that stage 1's carpals give (roi_box).
STAGE2_PIPELINE = [dict(type='LoadXRayImage'), dict(type='CropCarpalROI'),
                   dict(type='PackSegInputs')]


def refine(stage1_masks: torch.Tensor, crop_probs: torch.Tensor, box, rule: MaskRule,
           crop_image: Optional[np.ndarray] = None) -> torch.Tensor:
    """Replace the carpal channels of (29, H, W) masks by stage 2's crop masks of
    (8, h, w) probabilities (``rule``: stage 2's thresholds, cleanup and CRF, which
    needs the crop's grey pixels ``crop_image``)."""
    return replace_carpals(stage1_masks, rule(crop_probs, crop_image), box)


def crop_masks(stage2: CheckpointMember, img_path: str, rule: MaskRule, box,
               image: Optional[np.ndarray] = None) -> torch.Tensor:
    """Stage 2's (8, h, w) masks of the crop ``box`` = (y0, y1, x0, x1) of the image
    (``image``: its grey pixels, for a CRF)."""
    y0, y1, x0, x1 = box
    crop = None if image is None else image[y0:y1, x0:x1]
    return ensemble_masks([stage2], img_path, rule, image=crop, roi_box=box)


def replace_carpals(stage1_masks: torch.Tensor, crop_masks: torch.Tensor, box) -> torch.Tensor:
    """Replace the carpal channels of (29, H, W) masks by stage 2's (8, h, w) masks of
    the crop ``box`` = (y0, y1, x0, x1)."""
    y0, y1, x0, x1 = box
    masks = stage1_masks.clone()
    carpals = slice(CARPAL_START, CARPAL_START + len(CARPAL_CLASSES))
    masks[carpals] = False
    masks[carpals, y0:y1, x0:x1] = crop_masks.to(masks.device)
    return masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--stage1', required=True, help='CONFIG:CKPT of the 29-class model')
    parser.add_argument('--stage2', required=True, help='CONFIG:CKPT of the carpal model')
    parser.add_argument('--image-root', required=True)
    parser.add_argument('--submission', required=True)
    parser.add_argument('--margin', type=float, default=0.15)
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    check_writable(args.submission)
    images = list(image_paths_by_name(args.image_root).values())
    first, second = parse_member(args.stage1, '--stage1'), parse_member(args.stage2, '--stage2')
    for spec, flag in ((first, '--stage1'), (second, '--stage2')):
        if spec.kind != 'checkpoint':
            parser.error(f'{flag} {spec}: takes CONFIG.py:CKPT')
        spec.check_files(flag)
    stage1 = CheckpointMember(first.path, first.checkpoint, device=args.device)
    stage2 = CheckpointMember(second.path, second.checkpoint, device=args.device,
                              pipeline=STAGE2_PIPELINE)
    rule1, rule2 = stage1.mask_rule, stage2.mask_rule
    start, refined = time.time(), 0
    with SubmissionWriter(args.submission, HAND_BONE_CLASSES) as writer:
        for path in images:
            image = read_xray(path) if rule1.crf or rule2.crf else None
            masks = ensemble_masks([stage1], path, rule1, image=image)
            carpals = masks[CARPAL_START:CARPAL_START + len(CARPAL_CLASSES)].cpu().numpy()
            box = carpal_box(carpals, masks.shape[1:], args.margin)
            if box is not None:
                masks = replace_carpals(masks, crop_masks(stage2, path, rule2, box, image), box)
                refined += 1
            writer.write_image(osp.basename(path), masks)
    print(f'two-stage: {refined}/{len(images)} images refined, {writer.rows} rows written to '
          f'{args.submission} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
