"""Stand-in GPU machines for tests on a CPU: a fake ``nvidia-smi`` and a torch
whose CUDA queries answer as on that machine (``sitecustomize`` patches them)."""
import os
import stat

# name -> (nvidia-smi line, torch CUDA version, is_available, capability, arch flags)
CU130_ARCHS = 'sm_75 sm_80 sm_86 sm_90 sm_100 sm_120'
CU124_ARCHS = 'sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90'
MACHINES = {
    # torch 2.14.1 (CUDA 13.0) on a V100: CUDA initialises, the first kernel would fail.
    'v100_cu130': ('Tesla V100-SXM2-32GB, 580.65.06, 7.0', '13.0', True, (7, 0), CU130_ARCHS),
    # the remedy's torch 2.6.0 (CUDA 12.4) on the same V100: runs, but has no bfloat16.
    'v100_cu124': ('Tesla V100-SXM2-32GB, 580.65.06, 7.0', '12.4', True, (7, 0), CU124_ARCHS),
    # CUDA 13.0 on an A100 whose driver predates it: torch sees no GPU.
    'a100_old_driver': ('NVIDIA A100-SXM4-40GB, 535.104.05, 8.0', '13.0', False, (8, 0),
                        CU130_ARCHS),
    # a CPU-only torch on an H100 machine.
    'cpu_torch_h100': ('NVIDIA H100 80GB HBM3, 580.65.06, 9.0', None, False, (9, 0), ''),
}

# torchvision checks its CUDA version against torch's when imported: import it first.
SITECUSTOMIZE = '''import torch
import torchvision
line, cuda, available, capability, archs = {spec!r}
name = line.split(',')[0]
torch.version.cuda = cuda
torch.cuda.is_available = lambda: available
torch.cuda.device_count = lambda: int(available)
torch.cuda.current_device = lambda: 0
torch.cuda.get_device_capability = lambda device=None: capability
torch.cuda.get_device_name = lambda device=None: name
torch._C._cuda_getArchFlags = lambda: archs
'''


def standin_env(machine: str, folder: str, base_env: dict) -> dict:
    """Environment of a process that runs on stand-in ``machine``.

    Args:
        machine (str): A key of :data:`MACHINES`.
        folder (str): Where the fake ``nvidia-smi`` and ``sitecustomize.py`` go.
        base_env (dict): The environment to extend (PYTHONPATH is kept after ours).
    """
    spec = MACHINES[machine]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'sitecustomize.py'), 'w') as f:
        f.write(SITECUSTOMIZE.format(spec=spec))
    smi = os.path.join(folder, 'nvidia-smi')
    with open(smi, 'w') as f:
        f.write(f'#!/bin/sh\necho "{spec[0]}"\n')
    os.chmod(smi, os.stat(smi).st_mode | stat.S_IEXEC)
    env = dict(base_env)
    env['PATH'] = folder + os.pathsep + env.get('PATH', '')
    env['PYTHONPATH'] = folder + os.pathsep + env.get('PYTHONPATH', '')
    return env
