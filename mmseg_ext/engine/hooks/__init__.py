from .submission_hook import SubmissionHook

__all__ = ['SubmissionHook']
