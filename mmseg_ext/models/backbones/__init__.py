from .smp_model import SMPModel

__all__ = ['SMPModel']
