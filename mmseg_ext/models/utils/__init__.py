from .sliding_window import gaussian_slide, gaussian_window, window_positions

__all__ = ['gaussian_slide', 'gaussian_window', 'window_positions']
