"""One mechanism runs the checkout's code: the venv's .pth line written by tools/setup.sh."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}


@pytest.mark.slow
def test_any_folder_imports_the_checkout_before_the_installed_copy(tmp_path):
    code = ('import mmseg_ext, projects, benchmarks, site; '
            'print(mmseg_ext.__file__); print(projects.__file__); print(benchmarks.__file__)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:] + '\n(run bash tools/setup.sh)'
    for line in proc.stdout.split():
        assert osp.realpath(line).startswith(osp.realpath(REPO_ROOT) + os.sep), line


@pytest.mark.slow
def test_tools_run_from_another_folder_without_pythonpath(tmp_path):
    for script in ('tools/analysis_tools/check_submission.py',
                   'projects/wrist_roi/tools/two_stage_submission.py'):
        proc = subprocess.run([sys.executable, osp.join(REPO_ROOT, script), '--help'],
                              cwd=tmp_path, env=_clean_env(), capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0 and 'usage' in proc.stdout, proc.stderr[-2000:]


def test_no_script_edits_sys_path():
    scripts = [p for pattern in ('tools/**/*.py', 'benchmarks/*.py', 'projects/**/*.py',
                                 'tests/**/*.py', 'docs/*.py', 'mmseg_ext/**/*.py')
               for p in glob.glob(osp.join(REPO_ROOT, pattern), recursive=True)]
    scripts += glob.glob(osp.join(REPO_ROOT, 'tools', '*.sh'))
    assert len(scripts) > 30
    # Any change of sys.path (insert, append, extend, assignment, slicing), or a shell script
    # exporting PYTHONPATH; tools/setup.sh writes the one .pth line that does it for the venv.
    editing = re.compile(r'sys\.path\s*(\.\s*(insert|append|extend|remove|pop)\s*\(|'
                         r'\[[^]]*\]\s*=|=[^=]|\+=)|^\s*(export\s+)?PYTHONPATH=', re.M)
    offenders = [osp.relpath(p, REPO_ROOT) for p in scripts
                 if not p.endswith((osp.join('tools', 'setup.sh'), osp.basename(__file__)))
                 and editing.search(open(p).read())]
    assert not offenders, f'these edit sys.path themselves: {offenders}'
    assert editing.search('import sys\nsys.path.append(x)\n')  # the check can fail
    assert editing.search('sys.path[:0] = [x]') and editing.search('PYTHONPATH=$DIR python')
