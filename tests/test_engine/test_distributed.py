"""Two CPU processes (gloo) through tools/dist_*.sh: the same parameters on both ranks after
training; same Dice, byte-identical CSV."""
import copy
import os
import sys

import pytest
import torch
from mmengine.config import Config

from tests.helpers import run_tool, tiny_config

pytestmark = pytest.mark.slow  # tiny_run and 2-process tools

# tools/dist_*.sh run $PYTHON; one thread per process (equal threads: same CSV bytes)
DIST_ENV = dict(PYTHON=sys.executable, OMP_NUM_THREADS='1')


def _log(proc):
    return proc.stdout + proc.stderr


def _mdice(log):
    line = [ln for ln in log.splitlines() if 'mDice:' in ln][-1]
    return float(line.split('mDice:')[1].split()[0])


def _odd_labelled_test_config(config, tmp_path):
    """Test on 9 labelled images: 2 ranks get 5 + 5, one a padding duplicate."""
    cfg = Config.fromfile(config)
    exclude = tmp_path / 'exclude.txt'
    exclude.write_text('ID004/image1661130832153_L\n')
    dataset = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset.update(fold=None, exclude_file=str(exclude))
    cfg.test_dataloader = dict(copy.deepcopy(cfg.val_dataloader), dataset=dataset)
    cfg.test_evaluator = cfg.val_evaluator
    cfg.log_level = 'INFO'
    path = str(tmp_path / 'odd.py')
    cfg.dump(path)
    return path


# A hook, imported by each rank (custom_imports), that saves the rank's parameters before
# and after training, and the images it trained on.
RANK_PARAMS_PROBE = '''
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankParamsProbe(Hook):
    images = []

    def _save(self, runner, when):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save(dict(params={k: v.detach().clone() for k, v in model.named_parameters()},
                        images=list(self.images)),
                   f'{runner.work_dir}/params_{when}_rank{get_rank()}.pth')

    def before_train(self, runner):
        self._save(runner, 'before')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.images += [sample.img_path for sample in data_batch['data_samples']]

    def after_train(self, runner):
        self._save(runner, 'after')
'''


def test_two_process_train_keeps_the_ranks_parameters_equal(phantom_root, tmp_path):
    """DDP starts both ranks from the same weights and averages their gradients: after the
    same 3 steps, each rank on other images, both ranks hold the same parameters (which
    moved), and the checkpoint rank 0 writes holds them."""
    (tmp_path / 'rank_params_probe.py').write_text(RANK_PARAMS_PROBE)
    work = tmp_path / 'ddp'
    cfg = tiny_config(phantom_root, str(work), max_iters=3)
    cfg.train_cfg.val_interval = 1000
    cfg.custom_imports = dict(imports=['mmseg_ext', 'rank_params_probe'],
                              allow_failed_imports=False)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='RankParamsProbe')]
    config = str(tmp_path / 'ddp.py')
    cfg.dump(config)
    pythonpath = os.pathsep.join(p for p in (str(tmp_path), os.environ.get('PYTHONPATH')) if p)
    # sync_bn as in the full-size configs: gloo on a CPU trains without it (torch's
    # SyncBatchNorm raises for CPU tensors)
    run_tool('tools/dist_train.sh', config, '2', '--work-dir', str(work),
             '--cfg-options', 'sync_bn=torch', interpreter='bash',
             extra_env=dict(DIST_ENV, PORT=29611, PYTHONPATH=pythonpath), timeout=900)
    saved = {(when, rank): torch.load(work / f'params_{when}_rank{rank}.pth')
             for when in ('before', 'after') for rank in (0, 1)}
    images = [saved['after', rank]['images'] for rank in (0, 1)]
    assert len(images[0]) == len(images[1]) == 3 * 2 and images[0] != images[1]
    params = {key: value['params'] for key, value in saved.items()}
    names = list(params['after', 0])
    assert names and all(list(p) == names for p in params.values())
    for name in names:
        assert torch.equal(params['before', 0][name], params['before', 1][name]), name
        assert torch.equal(params['after', 0][name], params['after', 1][name]), name
    moved = [n for n in names if not torch.equal(params['before', 0][n], params['after', 0][n])]
    assert len(moved) > len(names) // 2, f'training moved only {len(moved)} of {len(names)}'
    checkpoint = torch.load(work / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert checkpoint['meta']['iter'] == 3
    for name in names:
        assert torch.equal(checkpoint['state_dict'][name], params['after', 0][name]), name


def test_two_process_dice_and_submission_equal_one_process(tiny_run, tmp_path):
    config, ckpt = tiny_run
    odd = _odd_labelled_test_config(config, tmp_path)
    # tiny_run trained on these images: the comparison of 1 and 2 processes allows it
    one = _log(run_tool('tools/test.py', odd, ckpt, '--work-dir', str(tmp_path / 'w1'),
                        '--submission', str(tmp_path / 'one.csv'), '--allow-training-images',
                        extra_env=DIST_ENV, timeout=900))
    two = _log(run_tool('tools/dist_test.sh', odd, ckpt, '2', '--work-dir', str(tmp_path / 'w2'),
                        '--submission', str(tmp_path / 'two.csv'), '--allow-training-images',
                        interpreter='bash',
                        extra_env=dict(DIST_ENV, PORT=29612), timeout=900))
    assert _mdice(one) > 0.01, 'the checkpoint must predict something'
    assert _mdice(one) == pytest.approx(_mdice(two), abs=1e-12)
    assert 'wrote 261 rows for 9 images' in one and 'wrote 261 rows for 9 images' in two
    assert (tmp_path / 'one.csv').read_bytes() == (tmp_path / 'two.csv').read_bytes()
