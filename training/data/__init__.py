"""Reading outcome logs into task matrices, and the synthetic generator's tasks."""
