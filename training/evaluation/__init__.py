"""Evaluation: metrics, held-out and cross-validated quality, scoring an artifact, latency, plots."""
