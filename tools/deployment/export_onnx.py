"""Export a multi-label segmentor to ONNX, with the JSON inference needs beside it.

``python tools/deployment/export_onnx.py CONFIG CKPT --out model.onnx``
writes ``model.onnx`` (normalised input -> per-class logits at the input size)
and ``model.json`` (input size, normalisation, padding, class names,
thresholds, cleanup ...), checks the graph with ``onnx.checker`` and prints the
largest logit difference to PyTorch on random input. Run it with
``tools/predict.py --model model.onnx`` (ONNX Runtime) or
``--backend openvino``.
"""
import argparse
import sys
import time

from mmseg_ext.deploy.export import EXPORTERS, export_onnx
from mmseg_ext.deploy.spec import DeployError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file ("none": random weights)')
    parser.add_argument('--out', required=True, help='ONNX file to write (.onnx)')
    parser.add_argument('--exporter', choices=EXPORTERS, default='dynamo',
                        help="torch's exporter (default dynamo; needs onnxscript)")
    parser.add_argument('--static', action='store_true',
                        help='fix batch 1 and the example size instead of dynamic axes')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="example input size; default the test pipeline's, padded")
    args = parser.parse_args()
    if not args.out.endswith('.onnx'):
        parser.error(f'--out must end with .onnx, got {args.out}')
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    start = time.time()
    try:
        result = export_onnx(args.config, checkpoint, args.out, exporter=args.exporter,
                             dynamic=not args.static, opset=args.opset,
                             input_size=args.input_size,
                             log=lambda m: print(f'[export {time.time() - start:5.0f} s] {m}',
                                                 flush=True))
    except DeployError as err:
        sys.exit(f'error: {err}')
    dynamic = ', '.join(result.dynamic_axes) or 'none (fixed input size)'
    print(f'exported {result.onnx_path} ({result.exporter} exporter, '
          f'{time.time() - start:.1f} s); input shape {result.input_shape}; '
          f'dynamic axes: {dynamic}')
    if result.note:
        print(f'note: {result.note}')
    print(f'onnx.checker: ok; max abs logit difference to PyTorch on random input: '
          f'{result.max_abs_diff:.3g}')
    print(f'inference settings: {result.spec_path}')


if __name__ == '__main__':
    main()
