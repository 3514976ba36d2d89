from .sliding_window import gaussian_slide, gaussian_window, window_positions
from .valid_pixels import valid_pixel_mask

__all__ = ['gaussian_slide', 'gaussian_window', 'window_positions', 'valid_pixel_mask']
