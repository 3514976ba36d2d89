"""Shared fixtures, and the ``slow`` marker that splits the suite into two tiers.

``pytest -m "not slow" tests`` is the fast tier (minutes; run it while working);
``pytest tests`` (``bash tools/setup.sh test``) runs everything. A test is ``slow`` when it
trains (itself, or through a fixture of :data:`TRAINING_FIXTURES`) or starts a tool process.
Forgetting the marker fails loudly: collection stops for a test that requests a training
fixture unmarked, and a test that is not marked ``slow`` fails when it calls
``run_tool``, starts a Python/shell/mim process or calls ``Runner.train``.
"""
import os
import os.path as osp
import re
import shlex
import subprocess

import pytest
from mmengine.registry import init_default_scope

import mmseg_ext  # noqa: F401  (the checkout's: tools/setup.sh's .pth line puts it first)
from tests import helpers

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

init_default_scope('mmseg')

# Session fixtures that train: only slow tests may request them (directly or through others).
TRAINING_FIXTURES = ('tiny_run', 'tiny_kfold', 'tiny_kfold_tta')
# Programs that make a process a tool process (library probes such as nvidia-smi or gcc are not).
TOOL_PROGRAM = re.compile(r'^(python[\d.]*|bash|sh|mim|torchrun|chromium(-browser)?)$')


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'slow: trains a model (itself or through a fixture such as tiny_run or '
        'tiny_kfold) or starts a tool process; pytest -m "not slow" runs the fast tier')
    _guard_processes_and_training()


def pytest_collection_modifyitems(config, items):
    unmarked = [item.nodeid for item in items
                if set(TRAINING_FIXTURES) & set(getattr(item, 'fixturenames', ()))
                and item.get_closest_marker('slow') is None]
    if unmarked:
        raise pytest.UsageError(
            f'these tests request a training fixture ({", ".join(TRAINING_FIXTURES)}) but are '
            'not marked slow: add @pytest.mark.slow\n  ' + '\n  '.join(unmarked))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the test's fixtures: say which test runs and whether it may be slow."""
    helpers.RUNNING.update(nodeid=item.nodeid, slow=item.get_closest_marker('slow') is not None)


def _program(args, shell) -> str:
    """The name of the program a ``subprocess.Popen(args, shell=shell)`` starts."""
    if isinstance(args, (str, bytes, os.PathLike)):
        command = os.fsdecode(args)
        if shell:
            try:
                command = (shlex.split(command) or [''])[0]
            except ValueError:
                command = command.split()[0] if command.split() else ''
    else:
        command = os.fsdecode(args[0]) if len(args) else ''
    return osp.basename(command)


def _guard_processes_and_training():
    """In a test not marked slow, starting a tool process or training fails the test."""
    from mmengine.runner import Runner
    popen_init, train = subprocess.Popen.__init__, Runner.train

    def guarded_init(self, *args, **kwargs):
        program = _program(args[0] if args else kwargs.get('args', ''), kwargs.get('shell'))
        if TOOL_PROGRAM.match(program):
            helpers.require_slow(f'starts a process ({program})')
        popen_init(self, *args, **kwargs)

    def guarded_train(self, *args, **kwargs):
        helpers.require_slow('trains (Runner.train)')
        return train(self, *args, **kwargs)

    subprocess.Popen.__init__ = guarded_init
    Runner.train = guarded_train


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory):
    """Small phantom set: 5 IDs (10 train images) + 1 test ID, 128 px."""
    from mmseg_ext.datasets.phantoms import make_phantoms
    root = str(tmp_path_factory.mktemp('phantoms'))
    make_phantoms(root, num_ids=5, size=128, seed=1, num_test_ids=1)
    return root


@pytest.fixture(scope='session')
def tiny_run(phantom_root, tmp_path_factory):
    """A tiny HRNet trained for 100 iterations at 128 px (predictions are not empty),
    tested at 64 px (upsampled x2 to the 128 px originals): (config, checkpoint)."""
    from tests.helpers import run_tool, tiny_config
    helpers.require_slow('requests tiny_run (trains)')
    tmp = tmp_path_factory.mktemp('tiny_run')
    config = str(tmp / 'tiny.py')
    cfg = tiny_config(phantom_root, str(tmp / 'work'), max_iters=100, scale=(128, 128),
                      test_scale=(64, 64))
    cfg.optim_wrapper.optimizer.lr = 5e-3
    cfg.dump(config)
    run_tool('tools/train.py', config, timeout=600)
    return config, str(tmp / 'work' / 'iter_100.pth')


@pytest.fixture(scope='session')
def tiny_submission(tiny_run, tmp_path_factory):
    """``tools/test.py CONFIG CKPT --submission`` of ``tiny_run``: (CSV path, the tool's
    stdout and stderr)."""
    config, ckpt = tiny_run
    out = str(tmp_path_factory.mktemp('tiny_submission') / 'submission.csv')
    proc = helpers.run_tool('tools/test.py', config, ckpt, '--submission', out)
    return out, proc.stdout + proc.stderr


@pytest.fixture(scope='session')
def tiny_tta_submission(tiny_run, tmp_path_factory):
    """``tools/test.py CONFIG CKPT --tta --submission`` of ``tiny_run``: the CSV path."""
    config, ckpt = tiny_run
    out = str(tmp_path_factory.mktemp('tiny_tta_submission') / 'submission.csv')
    helpers.run_tool('tools/test.py', config, ckpt, '--tta', '--submission', out)
    return out


@pytest.fixture(scope='session')
def tiny_kfold(phantom_root, tmp_path_factory):
    """The one small k-fold run of the suite (tests that need trained folds share it).

    ``tools/kfold.py`` with 2 folds of the phantoms, 8 iterations each (a checkpoint every
    iteration, validation at 4 and 8), killed (SIGKILL, its process group) once fold 1 has
    written iteration 3, then the same command again, which skips fold 0 and resumes fold 1:
    a finished k-fold work dir (``members.txt``, ``kfold_report.csv``/``.png``,
    ``fold0/``, ``fold1/``). A namespace of ``config``, ``work_dir`` (a ``pathlib.Path``),
    ``command`` (the kfold.py arguments), ``killed_output`` (the killed run's output),
    ``fold_results_when_killed`` (whether each fold had its result file then),
    ``fold0_when_killed`` (:func:`tests.helpers.file_times` of fold 0 then) and
    ``resumed_output`` (the second run's stdout and stderr).
    """
    import signal
    import sys
    import time
    from types import SimpleNamespace

    from mmseg_ext.utils.formats.fold_result import read_fold_result
    helpers.require_slow('requests tiny_kfold (trains)')
    tmp = tmp_path_factory.mktemp('tiny_kfold')
    config = helpers.kfold_config(phantom_root, tmp, max_iters=8)
    work = tmp / 'kf'
    command = ['tools/kfold.py', config, '--data-root', osp.join(phantom_root, 'train'),
               '--folds', '2', '--work-dir', str(work)]
    proc = subprocess.Popen([sys.executable, *command], cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 600
    while not (work / 'fold1' / 'iter_3.pth').exists():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() < deadline, 'fold 1 did not reach iteration 3'
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    killed_output = proc.communicate()[0]
    results = tuple(read_fold_result(str(work / f'fold{k}')) is not None for k in (0, 1))
    fold0 = helpers.file_times(work / 'fold0')
    again = helpers.run_tool(*command, timeout=900)
    return SimpleNamespace(config=config, work_dir=work, command=command,
                           killed_output=killed_output, fold_results_when_killed=results,
                           fold0_when_killed=fold0, resumed_output=again.stdout + again.stderr)


@pytest.fixture(scope='session')
def tiny_kfold_tta(tiny_kfold, phantom_root, tmp_path_factory):
    """A second configuration (96 px) trained by ``tools/kfold.py`` on the split of
    :func:`tiny_kfold` (``--split-file``), its out-of-fold predictions holding the TTA views
    (``--tta``): a namespace of ``config``, ``work_dir`` and ``output``."""
    from types import SimpleNamespace
    helpers.require_slow('requests tiny_kfold_tta (trains)')
    tmp = tmp_path_factory.mktemp('tiny_kfold_tta')
    config = helpers.kfold_config(phantom_root, tmp, max_iters=4, scale=(96, 96),
                                  name='tiny96.py')
    work = tmp / 'kf96'
    proc = helpers.run_tool('tools/kfold.py', config, '--data-root',
                            osp.join(phantom_root, 'train'), '--folds', '2', '--work-dir',
                            str(work), '--tta', '--split-file',
                            str(tiny_kfold.work_dir / 'splits.json'), timeout=900)
    return SimpleNamespace(config=config, work_dir=work, output=proc.stdout + proc.stderr)
