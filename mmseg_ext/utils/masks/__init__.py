"""Mask representation: bit maps, rasterised polygons, boxes and rotations."""
