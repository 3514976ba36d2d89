"""Average per-class probabilities of K checkpoints and write a submission.

``python tools/ensemble.py --model CFG1:CKPT1[:W1] --model CFG2:CKPT2[:W2] ...
    --image-root data/hand_bone/test/DCM --submission out.csv [--thresholds t.json]``
Members may mix architectures and input sizes; images are streamed one at a
time (sorted by path), so peak memory is one image's outputs plus the models.
A member may be an exported model (``--model model.onnx[:W]``, from
tools/deployment/export_onnx.py), run by ONNX Runtime or, with
``--backend openvino``, OpenVINO; ``--tta`` adds its horizontal flip.
"""
import argparse
import os.path as osp
import sys
import time

import torch

from mmseg_ext.apis import EnsembleMember, ensemble_probs, parse_member
from mmseg_ext.deploy.onnx_member import ExportedMember, parse_exported_member
from mmseg_ext.deploy.runtime import BACKENDS
from mmseg_ext.deploy.spec import DeployError
from mmseg_ext.utils.class_names import HAND_BONE_CLASSES
from mmseg_ext.utils.formats.search_result import read_search_result
from mmseg_ext.utils.formats.submission import SubmissionWriter, check_writable, image_paths_by_name
from mmseg_ext.utils.formats.thresholds_json import load_thresholds
from mmseg_ext.utils.postprocessing.mask_rule import mask_rule_for
from mmseg_ext.utils.runtime.device_report import check_expected_device


def progress_bar(total: int):
    """mmengine's ProgressBar; a silent one where mmengine is not installed."""
    try:
        from mmengine.utils import ProgressBar
    except ModuleNotFoundError:  # a deployment install (exported members only)
        return type('NoProgress', (), {'update': lambda self: None})()
    return ProgressBar(total)


def build_member(exported, checkpoint_spec, args):
    """An :class:`ExportedMember` for a parsed ``model.onnx[:W]``, else an
    :class:`EnsembleMember` for a parsed ``CONFIG:CKPT[:W]``."""
    if exported is not None:
        return ExportedMember(*exported, args.backend, args.tta, args.threads)
    config, checkpoint, weight = checkpoint_spec
    return EnsembleMember(config, checkpoint, float(weight), args.device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', action='append', required=True,
                        help='CONFIG:CKPT[:WEIGHT] or an exported MODEL.onnx[:WEIGHT], '
                        'repeat for each member')
    parser.add_argument('--image-root', required=True, help='folder of test images')
    parser.add_argument('--submission', required=True, help='CSV to write')
    parser.add_argument('--thresholds', help='JSON {class: threshold}; default 0.5')
    parser.add_argument('--search-json', help='weights and thresholds from '
                        'tools/analysis_tools/search_ensemble.py (same --model order)')
    parser.add_argument('--crf', action='store_true',
                        help='refine masks with a dense CRF (optional pydensecrf2)')
    parser.add_argument('--device', default=None,
                        help='cuda[:N] or cpu; default: cuda if usable, else cpu (a config '
                        'made for a GPU then stops with the reason)')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime',
                        help='runs the exported (.onnx / .xml) members')
    parser.add_argument('--tta', action='store_true', help='exported members: also predict '
                        'the horizontal flip and average the probabilities')
    parser.add_argument('--threads', type=int, default=0,
                        help="exported members: backend threads (default the backend's)")
    args = parser.parse_args()
    # Everything that can be wrong with the inputs fails here, before any model loads.
    check_writable(args.submission)
    images = list(image_paths_by_name(args.image_root).values())
    classes = HAND_BONE_CLASSES
    json_thresholds = load_thresholds(args.thresholds, classes) if args.thresholds else None
    search = read_search_result(args.search_json, classes, len(args.model)) \
        if args.search_json else None
    exported = [parse_exported_member(spec) for spec in args.model]
    parsed = [None if e else parse_member(spec) for spec, e in zip(args.model, exported)]
    specs = [p for p in parsed if p is not None]
    if args.tta and specs:
        parser.error('--tta flips exported members only; for CONFIG:CKPT use tools/test.py --tta')
    if specs and args.device != 'cpu':  # --device cpu runs GPU configs on the CPU on purpose
        from mmengine.config import Config  # exported members alone need no mmengine
        expected = {Config.fromfile(config).get('expected_device', 'cpu') for config, *_ in specs}
        check_expected_device('cuda' if 'cuda' in expected or args.device else 'cpu')
    members = [build_member(e, p, args) for e, p in zip(exported, parsed)]
    # The first member's test_cfg (threshold, cleanup), overridden by --thresholds, then by
    # --search-json's thresholds.
    rule = mask_rule_for(members[0].test_cfg, json_thresholds,
                         search and search['thresholds'], crf=args.crf or None)
    class_weights = torch.tensor(search['class_weights']) if search else None
    start, progress = time.time(), progress_bar(len(images))
    with SubmissionWriter(args.submission, classes) as writer:
        for path in images:
            probs = ensemble_probs(members, path, class_weights)
            masks = rule(probs, path)  # stay on the device
            writer.write_image(osp.basename(path), masks)
            progress.update()
    print(f'\nensemble of {len(members)}: wrote {writer.rows} rows for {len(images)} images '
          f'to {args.submission} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    try:
        main()
    except DeployError as err:  # an exported model that cannot run: name it, no traceback
        sys.exit(f'error: {err}')
