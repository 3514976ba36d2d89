from .hand_bone import HandBoneDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['HandBoneDataset']
