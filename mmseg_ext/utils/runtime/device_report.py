"""Which device torch will train on, and why a visible GPU cannot be used.

``python -m mmseg_ext.utils.runtime.device_report`` prints it (``tools/setup.sh`` does
after installing). :func:`check_expected_device` is what ``tools/train.py``,
``tools/test.py`` and ``tools/predict.py`` call before building a model: a
config made for a GPU (``expected_device = 'cuda'``) stops there, with the
reason and the remedy, when CUDA cannot run this torch's kernels.
"""
import subprocess
from typing import Dict, List, Optional, Sequence

import torch

from .torch_support import REMEDY, DeviceError

# Oldest Linux driver each CUDA major version runs on (NVIDIA's compatibility table).
MIN_DRIVER = {11: 450, 12: 525, 13: 580}
CPU_OVERRIDE = '--cfg-options expected_device=cpu'


def nvidia_smi_gpus() -> List[Dict[str, str]]:
    """GPUs that ``nvidia-smi`` lists (name, driver, compute capability); [] without one."""
    try:
        out = subprocess.run(
            ['nvidia-smi', '--query-gpu=name,driver_version,compute_cap',
             '--format=csv,noheader'], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    gpus = []
    for line in out.stdout.strip().splitlines():
        fields = [f.strip() for f in line.split(',')]
        if len(fields) == 3:
            gpus.append(dict(name=fields[0], driver=fields[1], compute_cap=fields[2]))
    return gpus


def compiled_archs() -> List[str]:
    """The ``sm_XY``/``compute_XY`` targets this torch was compiled for (no GPU needed)."""
    flags = torch._C._cuda_getArchFlags() if torch.version.cuda else ''
    return flags.split() if flags else []


def arch_supported(compute_cap: str, archs: Sequence[str]) -> bool:
    """Whether kernels for capability ``'7.0'`` exist: its ``sm_70``, or PTX it can JIT."""
    major, minor = (int(v) for v in compute_cap.split('.'))
    cap = major * 10 + minor
    if f'sm_{cap}' in archs:
        return True
    return any(a.startswith('compute_') and int(a[8:]) <= cap for a in archs)


def gpu_problems(gpus: Sequence[Dict[str, str]], cuda_available: bool,
                 torch_cuda: Optional[str], archs: Sequence[str]) -> List[str]:
    """Why each listed GPU cannot run this torch build (empty when all can)."""
    problems = []
    for gpu in gpus:
        name = f'{gpu["name"]} (compute capability {gpu["compute_cap"]}, driver {gpu["driver"]})'
        if torch_cuda is None:
            problems.append(f'{name}: this torch is a CPU-only build')
            continue
        needed = MIN_DRIVER.get(int(torch_cuda.split('.')[0]))
        driver_major = int(gpu['driver'].split('.')[0])
        if needed and driver_major < needed:
            problems.append(f'{name}: driver {gpu["driver"]} is too old for this torch\'s '
                            f'CUDA {torch_cuda} (needs driver >= {needed})')
        elif archs and not arch_supported(gpu['compute_cap'], archs):
            problems.append(f'{name}: this torch (CUDA {torch_cuda}) has no kernels for '
                            f'compute capability {gpu["compute_cap"]} (built for '
                            f'{" ".join(archs)})')
        elif not cuda_available:
            problems.append(f'{name}: torch cannot initialise CUDA (torch '
                            f'{torch.__version__}, CUDA {torch_cuda})')
    return problems


def current_gpu_problems(archs: Sequence[str]) -> List[str]:
    """Why the GPU torch reports as available has no kernels in this build.

    ``torch.cuda.is_available()`` is True on a V100 with a CUDA 13 build, and the
    first kernel then fails; ``nvidia-smi`` may also be missing in a container.
    """
    major, minor = torch.cuda.get_device_capability()
    cap = f'{major}.{minor}'
    if not archs or arch_supported(cap, archs):
        return []
    return [f'{torch.cuda.get_device_name()} (compute capability {cap}): this torch (CUDA '
            f'{torch.version.cuda}) has no kernels for compute capability {cap} (built for '
            f'{" ".join(archs)})']


def gpu_problems_here() -> List[str]:
    """Why a GPU on this machine cannot run this torch: empty when none is listed or all can."""
    available = torch.cuda.is_available()
    archs = compiled_archs()
    problems = gpu_problems(nvidia_smi_gpus(), available, torch.version.cuda, archs)
    if available and not problems:
        problems = current_gpu_problems(archs)
    return problems


def cuda_problems() -> List[str]:
    """Why CUDA cannot run this torch here (no GPU at all included): empty when it can."""
    problems = gpu_problems_here()
    if not problems and not torch.cuda.is_available():
        build = f'CUDA {torch.version.cuda}' if torch.version.cuda else 'a CPU-only build'
        problems = [f'torch {torch.__version__} ({build}) sees no GPU and nvidia-smi lists none']
    return problems


def check_expected_device(expected_device: str) -> None:
    """Stop before the work when a config made for a GPU cannot use one.

    Args:
        expected_device (str): The config's ``expected_device`` (``'cuda'`` for
            the full-size configs, ``'cpu'`` for the demo ones).

    Raises:
        DeviceError: With the reason, the remedy and the override.
    """
    if expected_device != 'cuda':
        return
    problems = cuda_problems()
    if problems:
        raise DeviceError(
            'This config is made for a GPU (expected_device=\'cuda\'), but CUDA cannot run '
            'here:\n' + '\n'.join(f'  {p}' for p in problems) + f'\n  remedy: {REMEDY}'
            f'\n  or run it on the CPU anyway (slow): {CPU_OVERRIDE}')


def check_amp_dtype(dtype: str) -> None:
    """Refuse bfloat16 autocast on a GPU without bfloat16 units (capability < 8.0).

    Raises:
        DeviceError: Naming float16, which such a GPU runs.
    """
    if dtype != 'bfloat16' or not torch.cuda.is_available():
        return
    major, minor = torch.cuda.get_device_capability()
    if major < 8:
        raise DeviceError(
            f'--amp-dtype bfloat16 needs compute capability >= 8.0; '
            f'{torch.cuda.get_device_name()} is {major}.{minor}: use --amp-dtype float16')


def describe_device() -> List[str]:
    """Lines saying which device training will use and, if a GPU is unusable, why."""
    available = torch.cuda.is_available()
    if available:
        index = torch.cuda.current_device()
        major, minor = torch.cuda.get_device_capability(index)
        lines = [f'device: {torch.cuda.get_device_name(index)} (compute capability '
                 f'{major}.{minor}), torch {torch.__version__}, CUDA {torch.version.cuda}']
    else:
        lines = [f'device: CPU ({torch.get_num_threads()} threads), torch {torch.__version__}']
    problems = gpu_problems_here()
    if problems:
        lines += [f'  GPU not usable: {p}' for p in problems] + [f'  remedy: {REMEDY}']
    return lines


def main() -> None:
    print('\n'.join(describe_device()))


if __name__ == '__main__':
    main()
