"""Which device torch will train on, and why a visible GPU cannot be used.

``python -m mmseg_ext.utils.device_report`` prints it (``tools/setup.sh`` does
after installing); ``tools/train.py`` warns with the same words when a config
made for a GPU starts on a CPU.
"""
import subprocess
from typing import Dict, List, Optional, Sequence

import torch

# Oldest Linux driver each CUDA major version runs on (NVIDIA's compatibility table).
MIN_DRIVER = {11: 450, 12: 525, 13: 580}
REMEDY = ('install a torch built for this machine, e.g. a CUDA 12 build: remove .venv, then '
          'MMSEG_EXT_TORCH="torch==2.5.1 torchvision==0.20.1" '
          'MMSEG_EXT_TORCH_INDEX=https://download.pytorch.org/whl/cu121 bash tools/setup.sh')


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
    problems = gpu_problems(nvidia_smi_gpus(), available, torch.version.cuda, compiled_archs())
    if problems:
        lines += [f'  GPU not usable: {p}' for p in problems] + [f'  remedy: {REMEDY}']
    return lines


def main() -> None:
    print('\n'.join(describe_device()))


if __name__ == '__main__':
    main()
