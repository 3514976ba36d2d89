"""Draw validation and test predictions with :class:`MultiLabelSegVisualizer`."""
import os.path as osp
from typing import Sequence

from mmengine.runner import Runner
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from mmseg_ext.utils.fileio.xray_io import read_xray


@HOOKS.register_module()
class MultiLabelVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` for X-rays, usable where only test images exist.

    The stock hook decodes images with ``mmcv.imfrombytes`` (no DICOM) and
    passes ``runner.iter`` as the step, which builds the training dataloader:
    ``tools/test.py --show-dir`` then fails on a machine without the training
    data. This reads images with the project's X-ray reader and uses the
    training iteration only during validation (the test index otherwise).

    Args:
        draw (bool): Draw at all. Defaults to False (``--show-dir`` sets it).
        interval (int): Draw every ``interval``-th batch. Defaults to 50.
        show (bool): Show in a window. Defaults to False.
        wait_time (float): Seconds to show each. Defaults to 0.
        backend_args (dict, optional): Unused; kept for the stock signature.
    """

    def _after_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                    outputs: Sequence[SegDataSample], mode: str = 'val') -> None:
        if self.draw is False or mode == 'train':
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        step = runner.iter if mode == 'val' else batch_idx
        for output in outputs:
            self._visualizer.add_datasample(
                f'{mode}_{osp.basename(output.img_path)}', read_xray(output.img_path),
                data_sample=output, show=self.show, wait_time=self.wait_time, step=step)
