"""``make demo`` twice, with the user's own work in ``./.router`` between: nothing of the user's is lost.

Issue 25: a second ``make demo`` removed ``./.router`` (runs, models, the promoted champion, imported rows)
because the first demo's marker file was still there. Now the demo lists the files it wrote and may remove
only those, only while they are unchanged; with anything of the user's in ``./.router`` it writes to
``./.router/demo``. Run as a new user would: ``scripts/demo.py`` and ``router`` as subprocesses, in a fresh
directory, with the repository on PYTHONPATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import ROOT, run_python

pytestmark = pytest.mark.slow


def router(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTER_DATA_DIR", "MLFLOW_TRACKING_URI")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env_free = {k: os.environ.pop(k) for k in ("ROUTER_DATA_DIR", "MLFLOW_TRACKING_URI") if k in os.environ}
    try:
        result = run_python([str(ROOT / "scripts" / "demo.py")], cwd=cwd, timeout=600)
    finally:
        os.environ.update(env_free)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_a_second_demo_removes_only_its_own_files_and_a_third_keeps_the_users(tmp_path):
    data = tmp_path / ".router"
    demo(tmp_path)
    first = snapshot(data)
    assert "mlflow.db" in first and "ledger.db" in first

    # Nothing of the user's yet: the second run reuses ./.router, having removed exactly its own files.
    demo(tmp_path)
    assert not (data / "demo").exists()
    assert "mlflow.db" in snapshot(data)

    # The user's own work, as the README suggests: a training run in another experiment, a promotion, an
    # import into the ledger.
    trained = router(
        tmp_path, "train", "--data", ".router/outcomes.parquet", "--experiment", "prod", "--json"
    )
    assert trained.returncode == 0, trained.stderr
    run_id = json.loads(trained.stdout)["run_id"]
    promoted = router(tmp_path, "promote", "--run", run_id, "--force", "--json")
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["promoted"] is True
    imported = router(tmp_path, "logs", "import", ".router/partial.parquet", "--json")
    assert imported.returncode == 0, imported.stderr
    (data / "notes.txt").write_text("my notes\n")
    users = snapshot(data)

    third = demo(tmp_path)
    assert re.search(r"The demo writes under \S*\.router/demo instead", third.stdout), third.stdout[-2000:]
    after = snapshot(data)
    changed = {name for name, digest in users.items() if after.get(name) != digest}
    assert not changed, f"the demo changed or removed the user's files: {sorted(changed)[:10]}"
    assert (data / "demo" / "mlflow.db").is_file(), "the demo's own store, in ./.router/demo"

    compared = router(tmp_path, "experiments", "compare", "--experiment", "prod", "--json")
    assert compared.returncode == 0, compared.stderr
    assert run_id in {run["run_id"] for run in json.loads(compared.stdout)}
    routed = router(
        tmp_path, "route", "--model", "models:/task-router@champion", "Fix the login test", "--json"
    )
    assert routed.returncode == 0, routed.stderr
    summary = router(tmp_path, "costs", "summary", "--period", "all", "--json")
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["total_requests"] > 0


def test_the_demo_stops_when_its_demo_dir_holds_someone_elses_files(tmp_path):
    (tmp_path / ".router" / "demo").mkdir(parents=True)
    (tmp_path / ".router" / "mine.txt").write_text("mine\n")
    (tmp_path / ".router" / "demo" / "theirs.txt").write_text("theirs\n")
    result = run_python([str(ROOT / "scripts" / "demo.py")], cwd=tmp_path, timeout=600)
    assert result.returncode == 1
    assert "theirs.txt" in result.stderr and "removes nothing of yours" in result.stderr
    assert (tmp_path / ".router" / "demo" / "theirs.txt").read_text() == "theirs\n"
    assert sorted(p.name for p in (tmp_path / ".router").rglob("*")) == ["demo", "mine.txt", "theirs.txt"]
