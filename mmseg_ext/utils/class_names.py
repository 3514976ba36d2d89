"""The 29 hand-bone classes in competition order, and their palette."""
from typing import List, Tuple

HAND_BONE_CLASSES: Tuple[str, ...] = tuple(
    [f'finger-{i}' for i in range(1, 20)] + [
        'Trapezium', 'Trapezoid', 'Capitate', 'Hamate', 'Scaphoid', 'Lunate',
        'Triquetrum', 'Pisiform', 'Radius', 'Ulna'
    ])

NUM_HAND_BONE_CLASSES = len(HAND_BONE_CLASSES)
CARPAL_CLASSES: Tuple[str, ...] = HAND_BONE_CLASSES[19:27]


def hand_bone_palette() -> List[List[int]]:
    """Return 29 distinct RGB colours (evenly spaced hues, two brightness rings)."""
    import colorsys
    palette = []
    n = len(HAND_BONE_CLASSES)
    for i in range(n):
        value = 1.0 if i % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(i / n, 0.85, value)
        palette.append([int(round(r * 255)), int(round(g * 255)), int(round(b * 255))])
    return palette
