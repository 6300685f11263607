"""The core install, as a user gets it: ``pip install .`` (no extras, not editable) into a fresh virtualenv.

It stays small, it routes with the heuristic and with a learned artifact trained elsewhere, and a feature
whose extra is missing says which extra in one line. Skipped when the package index cannot be reached.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.install import check_core_routes, installed, make_venv, train_artifact

# Distributions that only the extras bring (their names as pip lists them, lower-cased).
EXTRA_DISTRIBUTIONS = {
    "typer",
    "rich",
    "click",
    "sqlalchemy",
    "pandas",
    "pyarrow",
    "psycopg",
    "mlflow",
    "scikit-learn",
    "matplotlib",
    "prometheus-client",
    "prometheus_client",
    "httpx",
    "anthropic",
}
UNREACHABLE = ("Could not find a version", "No matching distribution", "connection", "Network is unreachable")


@pytest.fixture(scope="module")
def core_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("core-install") / "venv"
    try:
        return make_venv(where)
    except RuntimeError as exc:
        if any(sign in str(exc) for sign in UNREACHABLE):
            pytest.skip(f"the package index is unreachable: {str(exc)[-300:]}")
        raise


def run(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=python.parent)


@pytest.mark.slow
def test_core_install_is_at_most_30_packages_and_no_extra(core_python):
    names = installed(core_python)
    assert len(names) <= 30, names
    assert not {n.lower() for n in names} & EXTRA_DISTRIBUTIONS
    assert "llm-task-router" in names


@pytest.mark.slow
def test_core_install_routes_heuristic_and_learned_from_a_local_artifact(core_python, tmp_path):
    routes = check_core_routes(core_python, train_artifact(tmp_path / "artifact"))
    assert routes["heuristic"] == ["opus", "critical", "heuristic"]
    model, source, predicted = routes["learned"]
    assert source == "learned" and model in predicted and predicted == ["haiku", "opus", "sonnet"]
    assert len(routes["batch"]) == 2
    assert routes["extras_imported"] == []


@pytest.mark.slow
def test_a_missing_extra_is_one_line_naming_it(core_python):
    ledger = run(
        core_python,
        "import router\ntry:\n    router.CostTracker()\nexcept router.MissingExtraError as e:\n    print(e)",
    )
    assert "pip install 'llm-task-router[ledger]'" in ledger.stdout, ledger
    assert ledger.stdout.count("\n") == 1

    registry = run(
        core_python,
        "import router\ntry:\n    router.Router.load('models:/task-router@champion', strict=True)\n"
        "except router.ArtifactError as e:\n    print(e)",
    )
    assert "pip install 'llm-task-router[mlflow]'" in registry.stdout, registry

    training = run(core_python, "import training")
    assert training.returncode == 1
    assert "pip install 'llm-task-router[train]'" in training.stderr.strip().splitlines()[-1]

    litellm = run(core_python, "import router.integrations.litellm")
    assert "pip install 'llm-task-router[litellm]'" in litellm.stderr.strip().splitlines()[-1]

    cli = subprocess.run(
        [str(core_python.parent / "router"), "route", "Fix typo in README"], capture_output=True, text=True
    )
    assert cli.returncode == 1
    assert cli.stdout == ""
    assert cli.stderr == (
        "error: typer is not installed; install the 'cli' extra for the router command: "
        "pip install 'llm-task-router[cli]' (from a checkout: pip install '.[cli]')\n"
    )
