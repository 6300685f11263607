"""Fitting: per-model success and cost models, calibration, and the servable router's arrays."""
