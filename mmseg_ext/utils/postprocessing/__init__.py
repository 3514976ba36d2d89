"""From probabilities to final masks: the mask rule, cleanup, dense CRF."""
