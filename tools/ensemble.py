"""Average per-class probabilities of K checkpoints and write a submission.

``python tools/ensemble.py --model CFG1:CKPT1[:W1] --model CFG2:CKPT2[:W2] ...
    --image-root data/hand_bone/test/DCM --submission out.csv [--thresholds t.json]``
Members may mix architectures and input sizes; images are streamed one at a
time (sorted by path), so peak memory is one image's outputs plus the models.
"""
import os.path as osp
import sys

# Run from a checkout: use its mmseg_ext, not an older installed copy.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isdir(osp.join(_REPO, 'mmseg_ext')):
    sys.path.insert(0, _REPO)

import argparse
import json
import time

import torch
from mmengine.utils import ProgressBar

from mmseg_ext.apis import EnsembleMember, ensemble_probs, parse_member
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.dense_crf import dense_crf_masks
from mmseg_ext.utils.submission import SubmissionWriter, check_writable, image_paths_by_name
from mmseg_ext.utils.thresholds import load_thresholds
from mmseg_ext.utils.xray_io import read_xray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', action='append', required=True,
                        help='CONFIG:CKPT[:WEIGHT], repeat for each member')
    parser.add_argument('--image-root', required=True, help='folder of test images')
    parser.add_argument('--submission', required=True, help='CSV to write')
    parser.add_argument('--thresholds', help='JSON {class: threshold}; default 0.5')
    parser.add_argument('--search-json', help='weights and thresholds from '
                        'tools/analysis_tools/search_ensemble.py (same --model order)')
    parser.add_argument('--crf', action='store_true',
                        help='refine masks with a dense CRF (optional pydensecrf2)')
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    # Everything that can be wrong with the inputs fails here, before any model loads.
    check_writable(args.submission)
    images = list(image_paths_by_name(args.image_root).values())
    classes = HAND_BONE_CLASSES
    thresholds = torch.tensor(load_thresholds(args.thresholds, classes) if args.thresholds
                              else [0.5] * len(classes)).view(-1, 1, 1)
    class_weights = None
    if args.search_json:
        with open(args.search_json) as f:
            searched = json.load(f)
        class_weights = torch.tensor([searched['class_weights'][c] for c in classes]).T
        if class_weights.shape[0] != len(args.model):
            raise ValueError(f'{args.search_json}: weights for {class_weights.shape[0]} '
                             f'models, {len(args.model)} given')
        thresholds = torch.tensor([searched['thresholds'][c] for c in classes]).view(-1, 1, 1)
    members = [EnsembleMember(c, k, float(w), args.device)
               for c, k, w in map(parse_member, args.model)]
    start, progress = time.time(), ProgressBar(len(images))
    with SubmissionWriter(args.submission, classes) as writer:
        for path in images:
            probs = ensemble_probs(members, path, class_weights)
            if args.crf:
                masks = torch.from_numpy(dense_crf_masks(read_xray(path), probs.cpu().numpy()))
            else:
                masks = probs > thresholds.to(probs.device)  # masks stay on the device
            writer.write_image(osp.basename(path), masks)
            progress.update()
    print(f'\nensemble of {len(members)}: wrote {writer.rows} rows for {len(images)} images '
          f'to {args.submission} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
