"""Which torch builds mmseg_ext supports, and what to install instead.

Needs nothing but torch: ``tools/setup.sh`` runs this file right after
installing torch (``python mmseg_ext/utils/runtime/torch_support.py``), before
anything else is installed, and stops on a torch that is too old.
"""
import sys
from typing import Optional, Tuple

import torch

# The oldest torch mmseg_ext supports: weights_only loading of mmengine checkpoints needs
# add_safe_globals((callable, 'module.name')) entries, which torch accepts from 2.6 on.
MIN_TORCH = (2, 6)
# Installed and run by this project (README): PyPI's torch 2.6.0 is a CUDA 12.4 build with
# kernels for compute capability 5.0-9.0 (the V100's 7.0 too), for drivers >= 525.
COMPAT_TORCH = 'torch==2.6.0 torchvision==0.21.0'
REMEDY = (f'install a torch built for this machine: remove .venv, then '
          f'MMSEG_EXT_TORCH="{COMPAT_TORCH}" bash tools/setup.sh (CUDA 12.4, kernels for '
          'compute capability 5.0-9.0, driver >= 525)')


class DeviceError(RuntimeError):
    """Raised before the work starts when the torch or the device cannot run it."""


def torch_version_tuple(version: str) -> Tuple[int, int]:
    """``'2.6.0+cu124'`` -> ``(2, 6)``."""
    major, minor = version.split('+')[0].split('.')[:2]
    return int(major), int(''.join(c for c in minor if c.isdigit()) or 0)


def check_torch_version(version: Optional[str] = None) -> None:
    """Raise :class:`DeviceError` for a torch older than :data:`MIN_TORCH`."""
    version = version or torch.__version__
    if torch_version_tuple(version) < MIN_TORCH:
        raise DeviceError(
            f'torch {version} is older than mmseg_ext supports ({MIN_TORCH[0]}.{MIN_TORCH[1]}: '
            'its weights_only loading cannot read mmengine checkpoints safely). Remedy: '
            f'{REMEDY}')


if __name__ == '__main__':
    try:
        check_torch_version()
    except DeviceError as err:
        sys.exit(str(err))
