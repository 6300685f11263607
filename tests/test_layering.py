"""`import router` must not pull in the offline side (training, MLflow), the CLI's libraries, or an SDK."""

import subprocess
import sys


def test_import_router_leaves_training_and_mlflow_out():
    code = (
        "import sys, router; router.Router().route('Fix typo in README');"
        "bad = [m for m in ('training', 'mlflow', 'typer', 'sklearn', 'anthropic') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
