from .ensemble import EnsembleMember, ensemble_probs, parse_member
from .inference import init_model_and_dataset

__all__ = ['init_model_and_dataset', 'EnsembleMember', 'ensemble_probs', 'parse_member']
