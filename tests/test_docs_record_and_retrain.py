"""``docs/how-to/record-and-retrain.md`` as a new user follows it (issue 24): the page's code and commands run
as written, in order, in an empty directory.

The handler and a ``CostTracker`` record real attempts of a scripted model function; then ``router logs
export``, ``router train``, ``router evaluate`` and ``router promote`` run from a shell. Every attempt is
exported (none left out for an empty description), a model is trained and promoted, ``router routing stats``
shows levels (never ``unknown``), and the outputs the page quotes are what the commands print.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from router import CostTracker
from tests._helpers import ROOT

PAGE = ROOT / "docs" / "how-to" / "record-and-retrain.md"
#: The sections whose shell blocks the test runs; the others need files a later week would bring.
RUN_SECTIONS = ("Export, train, evaluate, promote", "Move logs between ledgers")


def blocks() -> list[tuple[str, str, str]]:
    """(section heading, language, code) of every fenced block, in page order."""
    found, section = [], ""
    for part in re.split(r"(^## .*$)", PAGE.read_text(encoding="utf-8"), flags=re.M):
        if part.startswith("## "):
            section = part[3:].strip()
            continue
        found += [(section, lang, code) for lang, code in re.findall(r"```(\w+)\n(.*?)```", part, re.S)]
    return found


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "ROUTER_DATABASE_URL")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # router, python
        "PYTHONPATH": str(ROOT),
        "ROUTER_DATA_DIR": str(cwd / "data"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_the_page_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "record_and_retrain"}
    ran = []
    for section, lang, code in blocks():
        if lang == "python":
            exec(compile(code, str(PAGE), "exec"), namespace)
        elif lang == "sh" and section in RUN_SECTIONS:
            result = shell(code, tmp_path)
            assert result.returncode == 0, (code, result.stdout, result.stderr)
            ran.append((section, result.stdout))
    assert [s for s, _ in ran] == list(RUN_SECTIONS)
    with CostTracker(tmp_path / "ledger.db", read_only=True) as ledger:
        attempts = len(ledger.get_recent_entries(100_000))
    loop_out, import_out = ran[0][1], ran[1][1]
    # Every attempt exported, none left out; levels in the routing statistics.
    assert f"Wrote {attempts:,} rows (week1.csv)" in loop_out and "left out" not in loop_out
    stats = loop_out.split("(week1.csv)", 1)[1]
    assert "simple" in stats and "moderate" in stats and "unknown" not in stats
    # A model trained, scored on the tasks where every model was tried (said), and promoted.
    trained = json.loads((tmp_path / "trained.json").read_text())
    assert (tmp_path / "candidate" / "metadata.json").is_file() and trained["run_id"]
    assert re.search(r"scored on \d+ of \d+ tasks", loop_out)
    assert "promoted task-router version 1 to champion" in loop_out
    # The import prints what the page quotes.
    quoted = [code for section, lang, code in blocks() if lang == "text" and section == RUN_SECTIONS[1]]
    assert attempts == 797  # the page's figure: its scripted traffic is seeded
    assert import_out.strip() == quoted[0].strip()


@pytest.mark.slow
def test_the_quoted_refusal_is_what_evaluate_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "record_and_retrain"}
    for _, lang, code in blocks():
        if lang == "python":
            exec(compile(code, str(PAGE), "exec"), namespace)
    [quoted] = [c for s, lang, c in blocks() if lang == "text" and s == "Evaluate in a way that fits the log"]
    command, *printed = quoted.strip().splitlines()
    export = "router logs export week1.csv --db ledger.db >/dev/null"
    refused = shell(f"{export}; {command.removeprefix('$ ')}", tmp_path)
    assert refused.returncode == 2
    assert _words(refused.stderr) == _words("\n".join(printed))
