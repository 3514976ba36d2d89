"""Why a GPU that nvidia-smi lists cannot be used by this torch build."""
from mmseg_ext.utils import device_report
from mmseg_ext.utils.device_report import arch_supported, describe_device, gpu_problems

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
    lines = describe_device()
    assert lines[0].startswith('device: CPU')
    assert any('GPU not usable' in ln and 'too old' in ln for ln in lines)
    assert any('MMSEG_EXT_TORCH=' in ln and 'MMSEG_EXT_TORCH_INDEX=' in ln for ln in lines)
