from .ensemble import EnsembleMember, ensemble_probs, parse_member

try:
    from .inference import init_model_and_dataset
except ModuleNotFoundError as err:  # a deployment install: no mmengine/mmseg
    if (err.name or '').split('.')[0] not in ('mmcv', 'mmengine', 'mmseg'):
        raise

__all__ = ['init_model_and_dataset', 'EnsembleMember', 'ensemble_probs', 'parse_member']
