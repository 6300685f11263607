"""What an orchestrator pays to depend on the router: packages installed and ``import router`` time.

Each install goes into a fresh virtualenv under a temporary directory (``pip install .``, not editable, so
the package is what a user gets from a wheel). In the core one, routing is checked end to end: the heuristic
router and a learned router loaded from a local artifact (trained here, by this process, which has the
``[train]`` extra), with none of the extras installed.

    python -m benchmarks --sections install           # core and [all]
    python -m benchmarks --quick --sections install   # core only
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._util import ROOT, median, progress

# Counted as the virtualenv's own, not as something ``pip install .`` brought.
VENV_SEED = {"pip", "setuptools", "wheel"}
IMPORT_RUNS = 10

# Run by the core virtualenv's interpreter: route with the heuristic, then with the learned artifact given
# as argv[1]; print what was decided and which extras' modules got imported (none should be).
ROUTE_CHECK = """
import json, sys
import router
heuristic = router.Router().route("Fix SQL injection in the login endpoint", files=["auth.py"])
learned_router = router.Router.load(sys.argv[1])
learned = learned_router.route("Fix SQL injection in the login endpoint", files=["auth.py"])
batch = learned_router.route_many(["Fix typo in README", "Migrate the billing database"])
extras = ("sklearn", "pandas", "sqlalchemy", "mlflow", "typer", "matplotlib", "prometheus_client", "training")
print(json.dumps({
    "heuristic": [heuristic.model, heuristic.complexity.level.value, heuristic.source],
    "learned": [learned.model, learned.source, sorted(learned.p_success)],
    "batch": [d.model for d in batch],
    "extras_imported": [m for m in extras if m in sys.modules],
}))
"""


def source_copy(where: Path) -> Path:
    """What a source distribution holds (pyproject, README, the packages), copied to ``where``: pip builds
    in the source tree, and its ``build/`` must not land in the checkout."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, where / name)
    for package in ("router", "training"):
        shutil.copytree(ROOT / package, where / package, ignore=shutil.ignore_patterns("__pycache__"))
    return where


def make_venv(where: Path, extras: str = "") -> Path:
    """A fresh virtualenv at ``where`` with ``pip install SOURCE[extras]`` done (not editable; the source a
    copy of this checkout's packages); returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, capture_output=True)
    python = where / "bin" / "python"
    source = source_copy(where.parent / f"{where.name}-source")
    spec = f"{source}[{extras}]" if extras else str(source)
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", spec],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {spec} failed: {proc.stderr.strip()[-2000:]}")
    return python


def installed(python: Path) -> list[str]:
    """Distributions installed in that interpreter's environment, without the virtualenv's own seed."""
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps(sorted({d.metadata['Name'] for d in m.distributions()})))"
    )
    names = json.loads(
        subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    )
    return [n for n in names if n.lower() not in VENV_SEED]


def import_time_ms(python: Path, runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """``import router`` in ``runs`` fresh interpreters: the cumulative time ``python -X importtime`` reports
    (wall clock, ms) and the CPU time the import took (less moved by other work on a shared machine)."""
    wall, cpu = [], []
    code = "import time; c = time.process_time(); import router; print(time.process_time() - c)"
    for _ in range(runs):
        proc = subprocess.run(
            [str(python), "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=python.parent,  # not the repository: the installed package, not the checkout, is imported
        )
        line = next(ln for ln in proc.stderr.splitlines() if re.search(r"\|\s*router$", ln))
        wall.append(int(line.split("|")[1]) / 1000)
        cpu.append(float(proc.stdout) * 1000)
    return _timings(wall, cpu)


# Run by the core virtualenv's interpreter: what the first heuristic decision costs a fresh process, from
# before `import router` to the decision returned (the names load on first use, so this is where numpy,
# pydantic and the catalog are paid for).
FIRST_ROUTE = """
import time
started, cpu = time.perf_counter(), time.process_time()
import router
decision = router.Router().route("Fix SQL injection in the login endpoint", files=["auth.py"])
print((time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000)
"""


def first_route_ms(python: Path, runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """``import router`` and one heuristic decision in ``runs`` fresh interpreters (wall and CPU, ms)."""
    wall, cpu = [], []
    for _ in range(runs):
        proc = subprocess.run(
            [str(python), "-c", FIRST_ROUTE], capture_output=True, text=True, check=True, cwd=python.parent
        )
        w, c = (float(x) for x in proc.stdout.split())
        wall.append(w)
        cpu.append(c)
    return _timings(wall, cpu)


def _timings(wall: list[float], cpu: list[float]) -> dict[str, Any]:
    return {
        "median_ms": median(wall),
        "min_ms": min(wall),
        "max_ms": max(wall),
        "cpu_median_ms": median(cpu),
        "runs": len(wall),
    }


def check_core_routes(python: Path, artifact: Path) -> dict[str, Any]:
    """Route with the heuristic and with the learned artifact in that interpreter; what it decided."""
    proc = subprocess.run(
        [str(python), "-c", ROUTE_CHECK, str(artifact)],
        capture_output=True,
        text=True,
        cwd=python.parent,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"routing in the core install failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def train_artifact(out: Path) -> Path:
    """A small learned router from synthetic outcomes (enough to load and route; not a quality claim)."""
    from training import train_router
    from training.synthetic import generate_outcomes

    train_router(generate_outcomes(600, seed=11), log_to_mlflow=False, output_dir=out)
    return out


def run(quick: bool, workdir: Path) -> dict[str, Any]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result: dict[str, Any] = {"load_before": load, "installs": {}}
    for name, extras in [("core", ""), *([] if quick else [("all", "all")])]:
        progress(f"install: pip install {'.' if name == 'core' else '.[all]'} into a fresh virtualenv")
        started = time.perf_counter()
        python = make_venv(workdir / name, extras)
        packages = installed(python)
        entry: dict[str, Any] = {
            "packages": len(packages),
            "names": packages,
            "install_s": time.perf_counter() - started,
        }
        if name == "core":
            entry["import_router"] = import_time_ms(python)
            entry["first_route"] = first_route_ms(python)
            entry["routes"] = check_core_routes(python, train_artifact(workdir / "artifact"))
        result["installs"][name] = entry
    result["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result


def install_md(section: dict[str, Any]) -> list[str]:
    """The section's table for ``latest.md`` and the benchmarks page."""
    installs = section["installs"]
    rows = []
    for name, spec in (("core", "pip install ."), ("all", "pip install '.[all]'")):
        entry = installs.get(name)
        rows.append([f"`{spec}`", "not run (--quick)" if entry is None else str(entry["packages"])])
    lines = [
        "### Install footprint",
        "",
        "Packages a fresh virtualenv gains (pip itself not counted), and `import router` in the core install "
        f"(cumulative time from `python -X importtime`, median of {IMPORT_RUNS} fresh interpreters; load "
        f"average {section['load_before']} before, {section['load_after']} after).",
        "",
        *_table(["install", "packages"], rows),
        "",
    ]
    core = installs["core"]
    t = core["import_router"]
    routes = core["routes"]
    lines += [
        f"- `import router` (core): median {t['median_ms']:.0f} ms (min {t['min_ms']:.0f}, max "
        f"{t['max_ms']:.0f}) over {t['runs']} runs, median CPU time {t['cpu_median_ms']:.0f} ms; "
        "target: at most 150 ms on an idle machine.",
        *_first_route_line(core),
        f"- Core packages: {', '.join(core['names'])}.",
        f"- Routing in the core install: heuristic picked `{routes['heuristic'][0]}` "
        f"({routes['heuristic'][1]}); the learned router loaded from a local artifact picked "
        f"`{routes['learned'][0]}` (source `{routes['learned'][1]}`); extras' modules imported: "
        f"{', '.join(routes['extras_imported']) or 'none'}.",
        "",
        "Reproduce: `python -m benchmarks --sections install`.",
        "",
    ]
    return lines


def _first_route_line(core: dict[str, Any]) -> list[str]:
    """The first decision's cost, where the run measured it (results from before it was added have none)."""
    t = core.get("first_route")
    if t is None:
        return []
    return [
        f"- `import router` and the first heuristic decision (core, fresh interpreters): median "
        f"{t['median_ms']:.0f} ms (min {t['min_ms']:.0f}, max {t['max_ms']:.0f}), median CPU time "
        f"{t['cpu_median_ms']:.0f} ms: the names load on first use, so this is where numpy, pydantic and the "
        "catalog are paid for."
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    from benchmarks._report import table

    return table(header, rows)
