from .ensemble import CheckpointMember, ensemble_masks, ensemble_probs
from .member import Member, MemberSpec, build_member, parse_member, read_members_file
from .predictor import load_members, predict

try:
    from .inference import build_model, init_model_and_dataset
except ModuleNotFoundError as err:  # a deployment install: no mmengine/mmseg
    if (err.name or '').split('.')[0] not in ('mmcv', 'mmengine', 'mmseg'):
        raise

__all__ = ['build_model', 'init_model_and_dataset', 'CheckpointMember', 'ensemble_probs',
           'ensemble_masks', 'parse_member', 'Member', 'MemberSpec', 'build_member',
           'read_members_file', 'load_members', 'predict']
