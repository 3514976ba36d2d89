from .sliding_window import gaussian_slide, gaussian_window, window_positions
from .test_time_geometry import padding_of, undo_test_transforms, valid_pixel_mask

__all__ = [
    'gaussian_slide', 'gaussian_window',
    'window_positions', 'padding_of', 'undo_test_transforms', 'valid_pixel_mask'
]
