"""Run an exported graph on ONNX Runtime or OpenVINO: (N, C, H, W) in, logits out.

Both sessions check the input against the graph's fixed axes first and turn a
backend's load or run failure (an op it does not implement, a wrong shape)
into a :class:`~mmseg_ext.deploy.spec.DeployError` that names the model file.
"""
from typing import List, Optional, Sequence

import numpy as np

from .spec import DeployError

BACKENDS = ('onnxruntime', 'openvino')
# Execution providers tried in this order when ONNX Runtime has them.
ORT_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider')
# Domains ONNX Runtime and OpenVINO implement ops of (others are custom ops).
_STANDARD_DOMAINS = ('', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft')


def custom_ops(model_path: str) -> List[str]:
    """``domain.op`` of every node outside the standard ONNX domains (needs ``onnx``;
    empty when it is not installed or the file is not ONNX).

    Args:
        model_path (str): The exported ``.onnx`` file.
    """
    try:
        import onnx
        graph = onnx.load(model_path, load_external_data=False).graph
    except Exception:  # noqa: BLE001  (only a hint for an error message)
        return []
    return sorted({f'{n.domain}.{n.op_type}' for n in graph.node
                   if n.domain not in _STANDARD_DOMAINS})


def _load_error(model_path: str, backend: str, err: Exception) -> DeployError:
    ops = custom_ops(model_path) if model_path.endswith('.onnx') else []
    hint = f'; ops it may not implement: {", ".join(ops)}' if ops else ''
    return DeployError(f'{model_path}: {backend} cannot load the model{hint} ({err})')


class BackendSession:
    """An exported model loaded by one backend: the input checks the backends share;
    subclasses implement :meth:`_run`.

    Args:
        model_path (str): The exported model.
        fixed (Sequence[int | None]): The input's size per axis, None where dynamic.
    """

    backend = ''

    def __init__(self, model_path: str, fixed: Sequence[Optional[int]]) -> None:
        self.model_path = model_path
        self.fixed = list(fixed)
        self.precision = 'f32'

    @property
    def dynamic_batch(self) -> bool:
        """The batch axis may vary (flip views can share one run)."""
        return self.fixed[0] is None

    def check_input(self, inputs: np.ndarray) -> None:
        """Raise :class:`DeployError` naming the model file for a shape it cannot take.

        Args:
            inputs (np.ndarray): The (N, C, H, W) network input.

        Raises:
            DeployError: Another number of axes than the graph's, or a size other than
                the graph's on one of its fixed axes.
        """
        names = ('batch', 'channels', 'height', 'width')
        if inputs.ndim != len(self.fixed):
            raise DeployError(f'{self.model_path}: takes {len(self.fixed)}-d input, got '
                              f'shape {tuple(inputs.shape)}')
        for axis, (want, got) in enumerate(zip(self.fixed, inputs.shape)):
            if want is not None and want != got:
                raise DeployError(
                    f'{self.model_path}: input {names[axis] if axis < 4 else axis} is fixed '
                    f'at {want} in this export, got {got} (input shape '
                    f'{tuple(inputs.shape)}, expected {self.fixed}); export with dynamic '
                    'axes or resize the images to the exported size')

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """(N, C, H, W) float32 -> (N, classes, H, W) float32 logits.

        Args:
            inputs (np.ndarray): The (N, C, H, W) network input (made contiguous float32).

        Raises:
            DeployError: An input the graph cannot take (:meth:`check_input`) or a
                failure of the backend; the message names the model file.
        """
        self.check_input(inputs)
        try:
            return self._run(np.ascontiguousarray(inputs, np.float32))
        except DeployError:
            raise
        except Exception as err:  # noqa: BLE001  (the backends raise their own types)
            raise DeployError(f'{self.model_path}: {self.backend} failed on input of shape '
                              f'{tuple(inputs.shape)} ({err})') from err

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _as_fixed(dims: Sequence) -> List[Optional[int]]:
    return [d if isinstance(d, int) and d > 0 else None for d in dims]


class OrtSession(BackendSession):
    """ONNX Runtime session: TensorRT / CUDA execution providers when present, else CPU.

    Args:
        model_path (str): ``.onnx`` file.
        threads (int): Intra-op threads (0: ONNX Runtime's default).
        providers (Sequence[str], optional): Execution providers to use, in order;
            default the available ones of :data:`ORT_PROVIDERS`.

    Raises:
        DeployError: ONNX Runtime cannot load the model (custom ops it may not implement
            are named).
    """

    backend = 'onnxruntime'

    def __init__(self, model_path: str, threads: int = 0,
                 providers: Optional[Sequence[str]] = None) -> None:
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = ort.get_available_providers()
        providers = list(providers or [p for p in ORT_PROVIDERS if p in available])
        try:
            self.session = ort.InferenceSession(model_path, options, providers=providers)
        except Exception as err:  # noqa: BLE001
            raise _load_error(model_path, self.backend, err) from err
        node = self.session.get_inputs()[0]
        self.input_name = node.name
        super().__init__(model_path, _as_fixed(node.shape))
        self.providers = self.session.get_providers()

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: inputs})[0]


class OpenVinoSession(BackendSession):
    """OpenVINO on the CPU (or another device), reading the ``.onnx`` (or an IR ``.xml``).

    Args:
        model_path (str): ``.onnx`` or ``.xml`` file.
        threads (int): ``INFERENCE_NUM_THREADS`` (0: OpenVINO's default).
        precision (str, optional): ``INFERENCE_PRECISION_HINT`` ('f32', 'bf16', 'f16');
            None keeps the device's default (bf16 on CPUs with AVX512-BF16 or AMX).
        device (str): OpenVINO device. Defaults to 'CPU'.

    Raises:
        DeployError: OpenVINO cannot read or compile the model (custom ops it may not
            implement are named).
    """

    backend = 'openvino'

    def __init__(self, model_path: str, threads: int = 0, precision: Optional[str] = 'f32',
                 device: str = 'CPU') -> None:
        import openvino as ov
        core = ov.Core()
        config = {'PERFORMANCE_HINT': 'LATENCY'}
        if threads:
            config['INFERENCE_NUM_THREADS'] = int(threads)
        if precision:
            config['INFERENCE_PRECISION_HINT'] = precision
        try:
            model = core.read_model(model_path)
            self.compiled = core.compile_model(model, device, config)
        except Exception as err:  # noqa: BLE001
            raise _load_error(model_path, self.backend, err) from err
        shape = model.input(0).get_partial_shape()
        super().__init__(model_path, [d.get_length() if d.is_static else None for d in shape])
        hint = self.compiled.get_property('INFERENCE_PRECISION_HINT')  # an ov.Type
        self.precision = hint.to_string() if hasattr(hint, 'to_string') else str(hint)
        self.request = self.compiled.create_infer_request()

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        self.request.infer({0: inputs})
        return self.request.get_output_tensor(0).data.copy()


def make_session(model_path: str, backend: str = 'onnxruntime', threads: int = 0,
                 precision: Optional[str] = 'f32') -> BackendSession:
    """A session of ``model_path`` on ``backend`` (one of :data:`BACKENDS`).

    Args:
        model_path (str): The exported model: ``.onnx``, or an OpenVINO ``.xml``
            (``openvino`` only).
        backend (str): 'onnxruntime' or 'openvino'. Defaults to 'onnxruntime'.
        threads (int): Backend threads (0: the backend's default).
        precision (str, optional): OpenVINO's ``INFERENCE_PRECISION_HINT``; None keeps
            the device's default. Not used by ONNX Runtime. Defaults to 'f32'.

    Raises:
        DeployError: An unknown backend, a backend that is not installed, or a
            model it cannot load; the message names the file.
    """
    if backend not in BACKENDS:
        raise DeployError(f'{model_path}: unknown backend {backend!r} (one of {BACKENDS})')
    if backend == 'onnxruntime' and model_path.endswith('.xml'):
        raise DeployError(f'{model_path}: an OpenVINO IR runs with --backend openvino')
    try:
        if backend == 'onnxruntime':
            return OrtSession(model_path, threads)
        return OpenVinoSession(model_path, threads, precision)
    except ModuleNotFoundError as err:
        raise DeployError(f'{model_path}: backend {backend} is not installed ({err}); '
                          'pip install -r requirements/deploy.txt') from err
