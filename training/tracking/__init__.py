"""MLflow: tracked training runs, the pyfunc model, the registry (compare, promote)."""
