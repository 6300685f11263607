"""Generate the reference pages at build time (mkdocs-gen-files), so names and commands added later appear
without editing the docs:

* ``reference/api/router.md`` and ``reference/api/training.md``: one mkdocstrings entry per name in the
  package's ``__all__``, in that order;
* ``reference/cli.md``: every command of the ``router`` Typer app with its ``--help``, walked recursively;
* the benchmark plot, copied from ``benchmarks/results/`` beside the benchmarks page.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import mkdocs_gen_files
import typer

ROOT = Path(__file__).resolve().parents[2]

INTROS = {
    "router": (
        "The serving package: everything a running orchestrator imports. `import router` loads none of the "
        "optional dependencies ([Install only what you need](../../how-to/install.md))."
    ),
    "training": (
        "The offline side: read outcome logs, fit and calibrate, evaluate, log to MLflow. Needs the "
        "`[train]` extra."
    ),
}


def api_page(package: str) -> str:
    module = importlib.import_module(package)
    lines = [f"# API reference: `{package}`", "", INTROS[package], ""]
    lines += [f"Every name in `{package}.__all__`: " + ", ".join(f"`{n}`" for n in module.__all__) + ".", ""]
    for name in module.__all__:
        lines += [f"::: {package}.{name}", ""]
    return "\n".join(lines)


def _commands(command: Any, path: list[str], parent: Any = None):
    """(path, command, context) for the command and every one under it; each context has its parent's, so
    the usage line names the whole path and the settings (``-h``) are inherited as when run."""
    ctx = command.context_class(command, info_name=path[-1], parent=parent, **command.context_settings)
    yield path, command, ctx
    # Duck-typed: Typer may bring its own copy of click, whose classes are not the ``click`` package's.
    for name in sorted(getattr(command, "commands", {})):
        yield from _commands(command.commands[name], [*path, name], ctx)


def cli_page() -> str:
    from router.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# Command line reference",
        "",
        "Generated from the `router` command's own `--help` at build time. How to use the commands: "
        "[Route a task](../how-to/route.md#from-the-command-line) and the other how-to guides.",
        "",
    ]
    for path, command, ctx in _commands(root, ["router"]):
        if getattr(command, "hidden", False):
            continue
        lines += [f"## `{' '.join(path)}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


for package in INTROS:
    with mkdocs_gen_files.open(f"reference/api/{package}.md", "w") as page:
        page.write(api_page(package))

with mkdocs_gen_files.open("reference/cli.md", "w") as page:
    page.write(cli_page())

plot = ROOT / "benchmarks" / "results" / "quality.png"
if plot.is_file():
    with mkdocs_gen_files.open("assets/quality.png", "wb") as out:
        out.write(plot.read_bytes())
