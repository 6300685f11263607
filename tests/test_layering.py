"""`import router` must not pull in the offline side (training, MLflow), the CLI's libraries, or the ledger's
database and dataframe libraries (loaded when a CostTracker is created or a log is read), or an LLM SDK."""

import subprocess
import sys


def test_import_router_leaves_training_and_mlflow_out():
    code = (
        "import sys, router; router.Router().route('Fix typo in README');"
        "lazy = ('training', 'mlflow', 'typer', 'sklearn', 'sqlalchemy', 'pandas', 'anthropic');"
        "bad = [m for m in lazy if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
