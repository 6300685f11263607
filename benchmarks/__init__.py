"""Speed, scale and decision-quality measurements; each module runs alone (``python -m benchmarks.NAME``)."""
