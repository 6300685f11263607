"""Stage 2, selection: the model selector and the heuristic router (estimator, then selector)."""
