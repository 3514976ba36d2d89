"""Why a GPU that nvidia-smi lists cannot be used by this torch build."""
import re

import pytest

from mmseg_ext.utils.runtime import device_report
from mmseg_ext.utils.runtime.device_report import (arch_supported, check_amp_dtype,
                                                   check_expected_device, describe_device,
                                                   gpu_problems)
from mmseg_ext.utils.runtime.torch_support import (MIN_TORCH, REMEDY, DeviceError,
                                                   check_torch_version, torch_version_tuple)

CU130_ARCHS = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']
V100 = dict(name='Tesla V100-SXM2-32GB', driver='570.86.15', compute_cap='7.0')
OLD_DRIVER_A100 = dict(name='NVIDIA A100-SXM4-40GB', driver='535.104.05', compute_cap='8.0')
H100 = dict(name='NVIDIA H100', driver='580.65.06', compute_cap='9.0')


def test_arch_support_from_sm_or_ptx():
    assert arch_supported('8.0', CU130_ARCHS)
    assert not arch_supported('7.0', CU130_ARCHS)
    assert arch_supported('7.0', ['sm_60', 'compute_60'])  # PTX JIT-compiles upwards


def test_driver_too_old_for_cuda_13():
    [problem] = gpu_problems([OLD_DRIVER_A100], False, '13.0', CU130_ARCHS)
    assert 'driver 535.104.05 is too old' in problem and 'needs driver >= 580' in problem


def test_v100_has_no_kernels_in_cuda_13_build():
    [problem] = gpu_problems([dict(V100, driver='580.65.06')], True, '13.0', CU130_ARCHS)
    assert 'no kernels for compute capability 7.0' in problem


def test_cpu_only_torch_and_working_gpu():
    assert 'CPU-only build' in gpu_problems([H100], False, None, [])[0]
    assert gpu_problems([H100], True, '13.0', CU130_ARCHS) == []
    assert gpu_problems([], False, '13.0', CU130_ARCHS) == []


def test_report_gives_the_remedy_when_a_listed_gpu_is_unusable(monkeypatch):
    monkeypatch.setattr(device_report, 'nvidia_smi_gpus', lambda: [OLD_DRIVER_A100])
    monkeypatch.setattr(device_report.torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(device_report.torch.version, 'cuda', '13.0')  # as torch 2.14.1
    lines = describe_device()
    assert lines[0].startswith('device: CPU')
    assert any('GPU not usable' in ln and 'too old' in ln for ln in lines)
    assert any('MMSEG_EXT_TORCH="torch==2.6.0 torchvision==0.21.0"' in ln for ln in lines)


def _standin_gpu(monkeypatch, capability, archs, smi=()):
    monkeypatch.setattr(device_report, 'nvidia_smi_gpus', lambda: list(smi))
    monkeypatch.setattr(device_report, 'compiled_archs', lambda: archs)
    monkeypatch.setattr(device_report.torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(device_report.torch.cuda, 'get_device_capability',
                        lambda device=None: capability)
    monkeypatch.setattr(device_report.torch.cuda, 'get_device_name',
                        lambda device=None: 'Stand-in GPU')


def test_v100_without_nvidia_smi_is_caught_from_torch_itself(monkeypatch):
    """In a container without nvidia-smi, torch's own capability query decides."""
    _standin_gpu(monkeypatch, (7, 0), CU130_ARCHS)
    with pytest.raises(DeviceError, match='no kernels for compute capability 7.0'):
        check_expected_device('cuda')
    check_expected_device('cpu')  # the override: the config's own key


def test_usable_gpu_passes_and_bfloat16_needs_ampere(monkeypatch):
    _standin_gpu(monkeypatch, (7, 0), ['sm_60', 'sm_70'])
    check_expected_device('cuda')
    check_amp_dtype('float16')
    with pytest.raises(DeviceError, match='use --amp-dtype float16'):
        check_amp_dtype('bfloat16')
    _standin_gpu(monkeypatch, (8, 0), CU130_ARCHS)
    check_amp_dtype('bfloat16')


def test_no_gpu_at_all_stops_a_gpu_config(monkeypatch):
    monkeypatch.setattr(device_report, 'nvidia_smi_gpus', lambda: [])
    monkeypatch.setattr(device_report.torch.cuda, 'is_available', lambda: False)
    with pytest.raises(DeviceError, match='sees no GPU.*\n.*remedy.*\n.*expected_device=cpu'):
        check_expected_device('cuda')


def test_supported_torch_range():
    """torch < 2.6 rejects (callable, name) allow-list entries: such a torch is refused, and
    the torch the remedy names is inside the range (the README's V100 remedy was 2.5.1)."""
    from mmseg_ext.utils.fileio.checkpoint import mmengine_checkpoint_globals
    assert any(isinstance(g, tuple) for g in mmengine_checkpoint_globals())
    assert MIN_TORCH >= (2, 6)
    remedy_torch = re.search(r'torch==([\d.]+)', REMEDY).group(1)
    assert torch_version_tuple(remedy_torch) >= MIN_TORCH
    assert torch_version_tuple('2.6.0+cu124') == (2, 6)
    check_torch_version('2.6.0+cu124')
    check_torch_version('2.14.1')
    with pytest.raises(DeviceError, match=r'torch 2\.5\.1 is older .*MMSEG_EXT_TORCH='):
        check_torch_version('2.5.1')


def test_torch_25_allow_list_construction_fails_on_tuples():
    """What torch 2.5 does with each allow-list entry: the reason for the range's floor."""
    from mmseg_ext.utils.fileio.checkpoint import mmengine_checkpoint_globals
    with pytest.raises(AttributeError, match="'tuple' object has no attribute '__module__'"):
        [f'{f.__module__}.{f.__name__}' for f in mmengine_checkpoint_globals()]
