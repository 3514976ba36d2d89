"""Predict a folder of X-rays with one model or an ensemble: submission CSV, masks, pictures.

``python tools/predict.py --model CFG.py:CKPT[:W] [--model MODEL.onnx[:W] ...]
    | --models-from members.txt | --recipe recipe.json  --image-root DIR [--tta]
    [--submission out.csv] [--out-dir masks/] [--show-dir pics/] [--thresholds t.json]
    [--keep-largest] [--fill-holes] [--min-area N]``

Members may mix architectures, input sizes and kinds (checkpoints with their config,
models exported by tools/deployment/export_onnx.py); their probabilities are averaged
(weights ``:W``), then thresholded. ``--tta`` runs each checkpoint member's own
``tta_pipeline`` (scales x flip, merged as ``tools/test.py --tta`` does) and each exported
member's horizontal flip. ``--recipe`` (``tools/find_best.py``) sets the members, their
weights per class, TTA, thresholds and cleanup per class. Images are streamed one at a
time in sorted path order.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys
import time
from typing import List

from mmseg_ext.apis.member import (MemberError, MemberSpec, build_member, check_same_classes,
                                   parse_member, read_members_file)
from mmseg_ext.deploy.runtime import BACKENDS
from mmseg_ext.deploy.spec import DeployError
from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.fileio.file_scan import DuplicateNameError, image_paths_by_name
from mmseg_ext.utils.formats.recipe import RecipeError, read_recipe
from mmseg_ext.utils.formats.submission import SubmissionError, SubmissionWriter
from mmseg_ext.utils.formats.thresholds_json import load_thresholds
from mmseg_ext.utils.postprocessing.mask_rule import MaskRule, mask_rule_for
from mmseg_ext.utils.runtime.progress import track


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', action='append', default=[],
                        help='CONFIG.py:CKPT[:WEIGHT] or an exported MODEL.onnx[:WEIGHT]; '
                        'repeat for each member')
    parser.add_argument('--models-from', help='members file, one --model value a line '
                        '(tools/kfold.py writes WORK/members.txt)')
    parser.add_argument('--image-root', required=True, help='folder of images (searched '
                        'recursively, e.g. DATA/DCM)')
    parser.add_argument('--submission', help='write the competition CSV here')
    parser.add_argument('--out-dir', help='write <image>.npz packed masks here '
                        '(the tools/test.py --out-dir format)')
    parser.add_argument('--show-dir', help='write a picture of each prediction here')
    parser.add_argument('--tta', action='store_true', help="test-time augmentation: "
                        "checkpoint members their config's tta_pipeline, exported members "
                        'the horizontal flip')
    parser.add_argument('--thresholds', help='JSON {class: threshold}; default the first '
                        "member's test_cfg, else 0.5")
    parser.add_argument('--recipe', help='recipe.json of tools/find_best.py: members, '
                        'weights, thresholds, cleanup and TTA (instead of --model/--tta/'
                        '--thresholds)')
    parser.add_argument('--keep-largest', action='store_true',
                        help='cleanup: keep the largest component of every class')
    parser.add_argument('--fill-holes', action='store_true', help='cleanup: fill holes')
    parser.add_argument('--min-area', type=int, default=0,
                        help='cleanup: remove components under this many pixels')
    parser.add_argument('--crf', action='store_true',
                        help='refine masks with a dense CRF (optional pydensecrf2)')
    parser.add_argument('--device', default=None,
                        help='cuda[:N] or cpu; default: cuda if usable, else cpu (a config '
                        'made for a GPU then stops with the reason)')
    parser.add_argument('--backend', choices=BACKENDS, default='onnxruntime',
                        help='runs the exported (.onnx / .xml) members')
    parser.add_argument('--threads', type=int, default=0,
                        help="exported members: backend threads (default the backend's)")
    return parser.parse_args()


def member_specs(args: argparse.Namespace) -> List[MemberSpec]:
    """``--model`` values, then the ``--models-from`` file's, each checked to exist (or the
    recipe's members)."""
    if args.recipe:
        given = [flag for flag, value in (('--model', args.model),
                                          ('--models-from', args.models_from),
                                          ('--thresholds', args.thresholds),
                                          ('--tta', args.tta)) if value]
        if given:
            raise MemberError(f'--recipe sets the members, thresholds and TTA: drop '
                              f'{", ".join(given)}')
        recipe = read_recipe(args.recipe)
        return [MemberSpec.checkpoint_member(m.config, m.checkpoint) for m in recipe.members]
    specs = [parse_member(spec) for spec in args.model]
    for spec in specs:
        spec.check_files('--model')
    if args.models_from:
        specs += read_members_file(args.models_from)  # checked line by line
    if not specs:
        raise MemberError('give at least one --model or --models-from')
    return specs


def add_cleanup_flags(rule: MaskRule, args: argparse.Namespace) -> None:
    """``--keep-largest``/``--fill-holes``/``--min-area``: one more cleanup step, for every
    class, after the rule's own."""
    options = {key: value for key, value in (('keep_largest', args.keep_largest),
                                             ('fill_holes', args.fill_holes),
                                             ('min_area', args.min_area)) if value}
    if options:
        rule.cleanup = (rule.cleanup or []) + [options]


def check_device(specs: List[MemberSpec], device) -> None:
    """Checkpoint members whose config expects a GPU stop where CUDA cannot run
    (``--device cpu`` runs them on the CPU on purpose)."""
    configs = [s.path for s in specs if s.kind == 'checkpoint']
    if not configs or device == 'cpu':
        return
    from mmengine.config import Config  # exported members alone need no mmengine

    from mmseg_ext.utils.runtime.device_report import check_expected_device
    expected = {Config.fromfile(config).get('expected_device', 'cpu') for config in configs}
    check_expected_device('cuda' if 'cuda' in expected or device else 'cpu')


def write_picture(show_dir: str, path: str, image_name: str, masks, classes) -> None:
    """The prediction drawn as ``tools/test.py --show-dir`` draws it (no ground truth)."""
    import cv2

    from mmseg_ext.utils.class_names import hand_bone_palette
    from mmseg_ext.utils.fileio.atomic_io import atomic_write_bytes
    from mmseg_ext.utils.fileio.xray_io import read_xray
    from mmseg_ext.visualization.panels import prediction_figure
    palette = hand_bone_palette()[:len(classes)]
    figure = prediction_figure(read_xray(path), masks.cpu().numpy().astype(bool), classes,
                               palette, image_name)
    atomic_write_bytes(cv2.imencode('.png', figure[..., ::-1])[1].tobytes(),
                       osp.join(show_dir, osp.splitext(image_name)[0] + '.png'))


def main() -> None:
    args = parse_args()
    if not (args.submission or args.out_dir or args.show_dir):
        sys.exit('error: nothing to write: give --submission, --out-dir and/or --show-dir')
    # Everything that can be wrong with the inputs fails here, before any model loads.
    specs = member_specs(args)
    if args.submission:
        check_writable(args.submission)
    images = list(image_paths_by_name(args.image_root).values())
    check_device(specs, args.device)
    recipe = read_recipe(args.recipe) if args.recipe else None
    tta = [m.tta for m in recipe.members] if recipe else [args.tta] * len(specs)
    members = [build_member(s, args.device, args.backend, t, args.threads)
               for s, t in track(list(zip(specs, tta)), what='loading members')]
    classes = check_same_classes(members, specs)
    import torch

    from mmseg_ext.apis.ensemble import ensemble_masks
    from mmseg_ext.utils.formats.mask_file import save_mask_file
    class_weights = None
    if recipe:
        read_recipe(args.recipe, classes)  # the members' classes are the recipe's
        class_weights = torch.tensor([m.weights for m in recipe.members])
        rule = MaskRule(recipe.thresholds, recipe.cleanup_steps(), crf=args.crf)
    else:  # the first member's rule, its thresholds overridden by --thresholds
        json_thresholds = load_thresholds(args.thresholds, classes) if args.thresholds \
            else None
        rule = mask_rule_for(members[0].mask_rule, json_thresholds, crf=args.crf or None)
    add_cleanup_flags(rule, args)
    for folder in (args.out_dir, args.show_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)
    start = time.time()
    writer = SubmissionWriter(args.submission, classes) if args.submission else None
    with writer or contextlib.nullcontext():
        for path in track(images, what=f'images ({len(members)} member(s)'
                          f'{", TTA" if args.tta else ""})'):
            masks = ensemble_masks(members, path, rule, class_weights)
            name = osp.basename(path)
            if writer:
                writer.write_image(name, masks)
            if args.out_dir:
                save_mask_file(osp.join(args.out_dir, osp.splitext(name)[0] + '.npz'), masks,
                               classes)
            if args.show_dir:
                write_picture(args.show_dir, path, name, masks, classes)
    wrote = [f'{writer.rows} rows for {len(images)} images to {args.submission}' if writer
             else f'{len(images)} images', f'masks to {args.out_dir}' if args.out_dir else '',
             f'pictures to {args.show_dir}' if args.show_dir else '']
    print(f'ensemble of {len(members)}: wrote {", ".join(w for w in wrote if w)} in '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__':
    try:
        main()
    except (DeployError, MemberError, SubmissionError, DuplicateNameError, RecipeError,
            FileNotFoundError) as err:
        sys.exit(f'error: {err}')
