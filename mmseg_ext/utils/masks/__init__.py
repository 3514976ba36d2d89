"""Mask representation: bit maps, boxes, mask sources read box by box, Dice counts, buffers."""
