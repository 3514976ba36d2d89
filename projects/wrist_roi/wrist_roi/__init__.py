"""Wrist ROI refinement: a second model on full-resolution carpal crops."""
from .crop_carpal_roi import CropCarpalROI, carpal_box

__all__ = ['CropCarpalROI', 'carpal_box']
