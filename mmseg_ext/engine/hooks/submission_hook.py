"""Writes the competition CSV (image_name,class,rle) during ``runner.test()``."""
import os
import os.path as osp
import shutil
import time
from typing import Optional, Sequence

from mmengine.dist import barrier, get_rank, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar
from mmseg.registry import HOOKS

from mmseg_ext.utils.fileio.atomic_io import check_writable
from mmseg_ext.utils.formats.submission import SubmissionPart, merge_parts


@HOOKS.register_module()
class SubmissionHook(Hook):
    """Stream each test image's RLE rows to disk; write the CSV atomically.

    Every rank appends its images' 29 rows (class order) to its own part file
    as predictions arrive, so memory does not grow with the test set. The
    test dataloader must use mmengine's ``DefaultSampler(shuffle=False)``:
    rank ``r``'s ``k``-th sample is then dataset item ``r + k * world_size``,
    and items past the dataset's end are the sampler's padding, which is not
    written. After the test loop rank 0 merges the (sorted) parts by image
    path and renames a finished temporary file to ``out_file``: 1 and N
    processes write identical bytes, and a run that fails leaves no CSV.
    Rank 0 shows a progress bar and prints a closing summary (images,
    seconds, rows, longest RLE). ``out_file`` is checked for writability when
    the hook is built, before the checkpoint loads or any image is predicted.

    Args:
        out_file (str): Path of the CSV to write.
        class_names (Sequence[str], optional): Defaults to the dataset's classes.
    """
    priority = 'LOW'

    def __init__(self, out_file: str, class_names: Optional[Sequence[str]] = None) -> None:
        self.out_file = osp.abspath(out_file)
        check_writable(self.out_file)
        self.class_names = class_names
        self._part = None
        self._images = 0
        self._start = 0.0

    def _parts_dir(self, runner) -> str:
        return osp.join(runner.work_dir, 'submission_parts')

    def before_test(self, runner) -> None:
        if self.class_names is None:
            self.class_names = runner.test_dataloader.dataset.metainfo['classes']
        sampler = runner.test_dataloader.sampler
        if getattr(sampler, 'shuffle', False):
            raise ValueError('SubmissionHook needs an unshuffled test sampler '
                             '(DefaultSampler with shuffle=False)')
        self._dataset_size = len(runner.test_dataloader.dataset)
        self._position = get_rank()
        parts = self._parts_dir(runner)
        if is_main_process() and osp.isdir(parts):
            shutil.rmtree(parts)
        barrier()
        os.makedirs(parts, exist_ok=True)
        self._part = SubmissionPart(osp.join(parts, f'part{get_rank()}.csv'), self.class_names)
        self._images = 0
        self._start = time.time()
        self._progress = ProgressBar(len(runner.test_dataloader.dataset)) \
            if is_main_process() else None

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in outputs:
            position, self._position = self._position, self._position + get_world_size()
            if position >= self._dataset_size:
                continue  # the distributed sampler's padding repeats an image
            self._part.write_image(sample.img_path, sample.pred_sem_seg.data.bool())
            self._images += 1
            if self._progress is not None:
                for _ in range(get_world_size()):
                    self._progress.update()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._part.close()
        barrier()
        if is_main_process():
            rows = self._merge(runner)
            print(f'\nSubmissionHook: wrote {rows} rows for {rows // len(self.class_names)} '
                  f'images to {self.out_file} in {time.time() - self._start:.1f} s '
                  f'({get_world_size()} process(es); longest RLE on rank 0: '
                  f'{self._part.longest} characters)', flush=True)
            shutil.rmtree(self._parts_dir(runner), ignore_errors=True)
        barrier()

    def _merge(self, runner) -> int:
        parts = [osp.join(self._parts_dir(runner), f'part{r}.csv') for r in range(get_world_size())]
        return merge_parts(parts, self.out_file, self.class_names,
                           self._dataset_size * len(self.class_names))
