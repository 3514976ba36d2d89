from .inference import init_model_and_dataset

__all__ = ['init_model_and_dataset']
