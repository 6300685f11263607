"""The packages' layering, enforced.

* ``import router`` must not pull in the offline side (training, MLflow) or any library that an extra brings
  (the CLI's, the ledger's database and dataframe libraries, telemetry's, an LLM SDK): they load when their
  feature is used (a CostTracker created, a log read, a collector started, ...).
* Every module's imports, read from its syntax tree (lazy imports inside functions and imports under
  ``TYPE_CHECKING`` included), form no cycle in ``router`` or ``training``.
* Each stage imports only the stages before it in the data's flow (and the shared modules at the top), as the
  tables below say. Type-only imports are exempt from the order (they run no code), not from the cycle check.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests._helpers import ROOT

# The stages of each package in the order data flows through them; a stage may import the ones before it.
# "" is the package's shared top level (value types, exceptions, paths, configuration loading, the catalog and
# the outcome-log schema), which every stage may import and which imports no stage.
ROUTER_STAGES = [
    "",
    "estimation",
    "selection",
    "learned",
    "execution",
    "ledger",
    "telemetry",
    "integrations",
    "cli",
]
TRAINING_STAGES = ["", "data", "fit", "evaluation", "tracking"]
# The modules that tie the stages together sit above all of them (the public face and the entry points).
TOP_MODULES = {
    "router.__main__",
    "router",
    "training",
    "training._train",
    "training.swebench",
    "training.synthetic",
    "training.bootstrap",
    "training.experiments",
    "training.retrain",
    "training.zeroeval",
}


# What the extras bring (pyproject.toml's optional dependencies, by import name), and training itself.
EXTRA_MODULES = (
    "training",
    "typer",
    "rich",
    "click",
    "sqlalchemy",
    "pandas",
    "pyarrow",
    "psycopg",
    "mlflow",
    "sklearn",
    "threadpoolctl",
    "joblib",
    "skops",
    "matplotlib",
    "prometheus_client",
    "httpx",
    "anthropic",
    "openai",
    "litellm",
    # Not extras, but loaded on first use of their names (router/__init__.py's _LAZY): routing alone does not
    # pay for the fallback handler (asyncio) or the ledger.
    "router.execution",
    "router.ledger",
    "asyncio",
)


def test_import_router_leaves_training_and_mlflow_out():
    code = (
        "import sys, router; router.Router().route('Fix typo in README');"
        f"lazy = {EXTRA_MODULES!r};"
        "bad = [m for m in lazy if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_import_router_alone_loads_no_library_and_every_name_resolves():
    # `import router` is what an orchestrator pays at start-up: its public names load on first use, so
    # numpy, pydantic and the router's stages stay out until a name is used; every name still resolves.
    code = (
        "import sys, router;"
        "loaded = [m for m in ('numpy', 'scipy', 'pydantic', 'ahocorasick', 'router._catalog',"
        " 'router.learned', 'router.selection', 'router.estimation') if m in sys.modules];"
        "missing = [n for n in router.__all__ if getattr(router, n, None) is None];"
        "print(','.join(loaded) + '|' + ','.join(missing))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "|"


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("router", "training"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_only_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, *([node.module] if node.module else [])])
    # ``from pkg import sub`` depends on the submodule ``pkg.sub`` when there is one, else on ``pkg``.
    return [f"{base}.{alias.name}" for alias in node.names] or [base]


def import_graph() -> dict[str, dict[str, bool]]:
    """module -> {imported module: whether every import of it is type-only}, for our own modules."""
    modules = _modules()
    graph: dict[str, dict[str, bool]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        type_only = _type_only_lines(tree)
        edges: dict[str, bool] = {}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, name, path.name == "__init__.py"):
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[target] = edges.get(target, True) and node.lineno in type_only
        graph[name] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def stage_of(module: str) -> tuple[str, int]:
    """(package, rank of its stage); the top modules rank above every stage."""
    package, _, rest = module.partition(".")
    stages = ROUTER_STAGES if package == "router" else TRAINING_STAGES
    if module in TOP_MODULES:
        return package, len(stages)
    first = rest.split(".")[0]
    return package, stages.index(first) if first in stages else 0


def test_the_graph_sees_imports_of_every_kind():
    graph = import_graph()
    # A lazy import inside a function, a ``from pkg import sub`` and a type-only import are all edges.
    assert "training.tracking.pyfunc" in graph["training.tracking.runs"]  # imported inside a function
    assert graph["router._exceptions"].get("router.execution.attempts") is True
    assert "router.ledger.engine" in graph["router.ledger.tracker"]
    assert find_cycles({"a": {"b": False}, "b": {"c": False}, "c": {"a": True}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_router_or_training():
    assert find_cycles(import_graph()) == []


def test_each_stage_imports_only_the_stages_before_it():
    wrong = []
    for module, edges in import_graph().items():
        package, rank = stage_of(module)
        for target, type_only in edges.items():
            target_package, target_rank = stage_of(target)
            if type_only:
                continue
            # The CLI is the one part of the router package on top of everything, training included.
            if package == "router" and target_package == "training" and not module.startswith("router.cli"):
                wrong.append(f"{module} -> {target} (serving never imports training)")
            elif target_package == package and target_rank > rank:
                wrong.append(f"{module} -> {target}")
    assert wrong == []
