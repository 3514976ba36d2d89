"""Packaging for mmseg_ext.

Like mmsegmentation's own setup.py, ``tools/`` and ``configs/`` are copied
into ``mmseg_ext/.mim/`` before ``setup()`` so that, after a normal
(non-editable) install, ``mim run mmseg_ext train CONFIG`` and
``mim train mmseg_ext CONFIG`` find them from any directory.
"""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('tools', 'configs', 'model-index.yml')


def read_version() -> str:
    """Return ``__version__`` from ``mmseg_ext/version.py`` without importing."""
    scope: dict = {}
    with open(osp.join(ROOT, 'mmseg_ext', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``requirements/<name>.txt``."""
    with open(osp.join(ROOT, 'requirements', f'{name}.txt')) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith('#')]


def add_mim_extension() -> None:
    """Copy (or, for ``develop``, symlink) tools/configs into mmseg_ext/.mim."""
    if 'develop' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install', 'build')) \
            or 'egg_info' in sys.argv or len(sys.argv) == 1:
        mode = 'copy'
    else:
        return
    mim_root = osp.join(ROOT, 'mmseg_ext', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_root, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmseg_ext',
        version=read_version(),
        description='Multi-label hand-bone X-ray segmentation for mmsegmentation',
        long_description=open(osp.join(ROOT, 'README.md')).read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(exclude=('tests', 'tests.*', 'benchmarks', 'projects')),
        include_package_data=True,
        install_requires=read_requirements('runtime'),
        extras_require={
            'mim': read_requirements('mminstall'),
            'tests': read_requirements('tests'),
            'optional': read_requirements('optional'),
            'deploy': read_requirements('deploy'),
            'all': read_requirements('mminstall') + read_requirements('optional')
            + read_requirements('tests'),
        },
        zip_safe=False)
