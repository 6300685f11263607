"""Helpers shared by the benchmark sections: progress lines, memory readings, medians, worker processes.

Sections that load heavy libraries or need their own peak memory run in a subprocess (``run_worker``), so one
router's imports and garbage never count against another's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_START = time.perf_counter()

Progress = Callable[[str], None]


def progress(message: str) -> None:
    """One line on stderr with the time since the run started, so a long run shows where it is."""
    print(f"[{time.perf_counter() - _START:7.1f} s] {message}", file=sys.stderr, flush=True)


def proc_status_kb(field: str, pid: int | str = "self") -> int | None:
    """A memory field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``) in KiB; None off Linux or once gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def worker_env() -> dict[str, str]:
    """The environment of a worker: this checkout first on the path (a worktree wins over an installed copy),
    and no hub access for the embedding model (it ships in a package)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def run_worker(
    module: str, args: Sequence[str], out: Path, *, timeout: float | None = None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Run ``python -m module args --out OUT`` and read the JSON it writes.

    Returns (result or None, info) where info holds the wall time, the child's peak resident memory as seen
    from outside (VmHWM, polled, so it is known even when the child is stopped at ``timeout``), whether it
    timed out, and its exit code.
    """
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", module, *args, "--out", str(out)], cwd=ROOT, env=worker_env()
    )
    peak_kb = 0
    timed_out = False
    while child.poll() is None:
        peak_kb = max(peak_kb, proc_status_kb("VmHWM", child.pid) or 0)
        if timeout is not None and time.perf_counter() - started > timeout:
            timed_out = True
            child.kill()
            break
        time.sleep(0.2)
    code = child.wait()
    info = {
        "wall_s": time.perf_counter() - started,
        "peak_rss_mb_polled": peak_kb / 1024,
        "timed_out": timed_out,
        "exit_code": code,
    }
    if timed_out or code != 0 or not out.exists():
        return None, info
    return json.loads(out.read_text()), info


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_jsonable))


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def per_set(names: list[str], measure: Callable[[str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``measure(name)`` for each shared data set; a set whose files are absent gets ``{"skipped": reason}``
    and the rest are still measured."""
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            results[name] = measure(name)
        except (OSError, ValueError) as exc:  # the shared files are absent
            results[name] = {"skipped": str(exc)}
        except Exception as exc:  # a RouterError from a loader that cannot find its data
            if type(exc).__name__.endswith("Error") and "not found" in str(exc):
                results[name] = {"skipped": str(exc)}
            else:
                raise
    return results


def chosen_sets(parser: argparse.ArgumentParser, names: str, known: Sequence[str]) -> tuple[str, ...]:
    """The comma-separated set names of ``names`` (blanks dropped); ``parser.error`` names any unknown."""
    sets = tuple(s.strip() for s in names.split(",") if s.strip())
    unknown = [s for s in sets if s not in known]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return sets
