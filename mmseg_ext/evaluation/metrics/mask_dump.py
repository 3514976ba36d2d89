"""``tools/test.py --out``: each image's masks written to disk as it is predicted."""
import os
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS

from mmseg_ext.utils.formats.mask_file import save_mask_file


@METRICS.register_module()
class MaskDump(BaseMetric):
    """Write each sample's predicted masks to ``out_dir/<image name>.npz``.

    mmengine's ``DumpResults`` keeps every data sample (29 x 2048² bool masks,
    122 MB an image) until the end and gathers them on rank 0; this writes
    each image's masks as a compressed int32 bit map when it arrives (each
    rank its own images, atomically) and keeps only the file name.
    :func:`mmseg_ext.utils.formats.mask_file.load_mask_file` reads a file back.

    Args:
        out_dir (str): Folder of the mask files (created).
        collect_device (str): As for ``BaseMetric``. Defaults to 'cpu'.
        prefix (str, optional): As for ``BaseMetric``.
    """
    default_prefix = 'dump'

    def __init__(self, out_dir: str, collect_device: str = 'cpu', prefix=None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = osp.abspath(out_dir)
        os.makedirs(self.out_dir, exist_ok=True)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Write every sample's masks; keep its file name.

        Args:
            data_batch (dict): The batch from the dataloader (not used).
            data_samples (Sequence[dict]): The model's outputs as dicts, with ``img_path``
                and ``pred_sem_seg`` ((C, H, W) bool masks).
        """
        for sample in data_samples:
            name = osp.splitext(osp.basename(sample['img_path']))[0] + '.npz'
            save_mask_file(osp.join(self.out_dir, name), sample['pred_sem_seg']['data'],
                           self.dataset_meta['classes'])
            self.results.append(name)

    def compute_metrics(self, results: List[str]) -> Dict[str, float]:
        """Say how many files were written (whatever the log level, as SubmissionHook does);
        no metric.

        Args:
            results (list[str]): The names of the files written, from all ranks.

        Returns:
            dict: Empty.
        """
        print(f'MaskDump: wrote {len(set(results))} mask files to {self.out_dir}')
        return {}
