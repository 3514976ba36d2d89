"""One progress display for every loop over images or members: count, rate, elapsed, ETA.

mmengine's ``ProgressBar`` where mmengine is installed (the tools' usual bar);
in a deployment install without it, tqdm (installed with the package's
runtime requirements).
"""
from typing import Iterable, Iterator, Optional, Sized, TypeVar

T = TypeVar('T')


def track(items: Iterable[T], total: Optional[int] = None, what: str = '') -> Iterator[T]:
    """Yield ``items`` while showing how many are done, the rate and the ETA.

    Args:
        items (Iterable): What the loop goes over.
        total (int, optional): Their number; default ``len(items)``.
        what (str): A word printed before the bar (e.g. 'images').
    """
    total = len(items) if total is None and isinstance(items, Sized) else total
    if what:
        print(f'{what}: {total}', flush=True)
    try:
        from mmengine.utils import ProgressBar
    except ImportError:  # a deployment install
        from tqdm import tqdm
        yield from tqdm(items, total=total, desc=what or None)
        return
    bar = ProgressBar(total or 0)
    for item in items:
        yield item
        bar.update()
    if total:
        print(flush=True)  # the bar ends its line
