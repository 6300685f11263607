"""The documentation stays true: the site builds with ``--strict``, its references cover the public API and
every command, and every runnable example runs.

The code-block rule (docs and README alike): a bare ```` ```python ```` block is run, the blocks of one page
in order, in one namespace, in an empty temporary directory, without network. ```` ```python NAME ```` blocks
(a tag after the language) need real servers and are run by their own tests (``python fallback``:
tests/execution/test_fallback_anthropic.py; ``python openai`` / ``litellm`` / ``litellm-proxy``:
tests/integrations/test_readme_integrations.py). ```` ```sh ````, ```` ```text ```` and ```` ```pycon ```` are
shown, not run.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import router
import training
from router import Catalog, ComplexityLevel, ConfigError, EstimatorConfig, Router
from router._toml import packaged_file
from tests._helpers import ROOT

DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_gen" not in p.parts)
RUNNABLE = [ROOT / "README.md", *PAGES]


def blocks(path: Path, language: str) -> list[str]:
    """The page's fenced blocks whose info string is exactly ``language``, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def run_page(path: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for i, code in enumerate(blocks(path, "python")):
        exec(compile(code, f"{path.relative_to(ROOT)} (python block {i + 1})", "exec"), namespace)


@pytest.mark.parametrize(
    "page",
    [p for p in RUNNABLE if blocks(p, "python")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_python_blocks_run(page, in_tmp):
    run_page(page)


def test_route_examples_print_what_their_comments_say(in_tmp, capsys):
    run_page(DOCS / "how-to" / "route.md")
    out = capsys.readouterr().out
    assert out.startswith("sonnet moderate 30.0\n")
    assert "['file_count +5: 2 file(s)', \"security +25: keyword 'oauth'\"]" in out
    assert "['sonnet', 'opus']" in out


def test_estimator_example_routes_with_the_copied_file(in_tmp, capsys):
    run_page(DOCS / "how-to" / "configure.md")
    assert capsys.readouterr().out == "haiku\n"
    assert (in_tmp / "my-estimator.toml").read_text() == packaged_file("estimator.toml").read_text()


def _catalog_example() -> str:
    return next(b for b in blocks(DOCS / "how-to" / "configure.md", "toml") if "[models.local-llama]" in b)


def test_catalog_example_loads_and_routes():
    catalog = Catalog.from_dict(tomllib.loads(_catalog_example()))
    assert catalog.names() == ["local-llama", "big-cloud"]
    assert catalog.output_tokens[ComplexityLevel.SIMPLE] == 300
    router_ = Router(catalog)
    assert router_.route("Fix typo in README").model == "local-llama"
    assert router_.route("Data loss in the nightly export").model == "big-cloud"


def test_quoted_catalog_error_is_the_real_one():
    bad = tomllib.loads(_catalog_example().replace("input_cost_per_1m = 5.0", "input_cost_per_1m = -5.0"))
    quoted = "models.big-cloud.input_cost_per_1m: Input should be greater than or equal to 0 (got -5.0)"
    assert quoted in (DOCS / "how-to" / "configure.md").read_text()
    with pytest.raises(ConfigError, match=re.escape(quoted)):
        Catalog.from_dict(bad)


def test_quoted_estimator_error_is_the_real_one(tmp_path):
    quoted = "levels: levels.moderate (60.0) must be below levels.complex (50.0)"
    assert quoted in (DOCS / "how-to" / "configure.md").read_text()
    path = tmp_path / "estimator.toml"
    path.write_text(packaged_file("estimator.toml").read_text().replace("moderate = 25.0", "moderate = 60.0"))
    with pytest.raises(ConfigError, match=re.escape(quoted)):
        EstimatorConfig.from_toml(path)


@pytest.mark.parametrize(
    ("row", "model", "level"),
    [
        ("Fix typo in README", "haiku", "simple"),
        ("Implement OAuth2 authentication with JWT tokens", "sonnet", "moderate"),
        ("Fix SQL injection security vulnerability in the production login endpoint", "opus", "critical"),
    ],
    ids=["typo", "auth", "sql"],
)
def test_level_rule_table_rows_match_the_router(in_tmp, row, model, level):
    page = (DOCS / "concepts" / "level-rule.md").read_text()
    line = next(line for line in page.splitlines() if line.startswith(f"| {row} |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    files = [f.strip() for f in cells[1].split(",")]
    decision = Router().route(row, files=files)
    assert cells[2:] == [f"{decision.complexity.score:g}", level, model]
    assert (decision.model, decision.complexity.level.value) == (model, level)


def test_every_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text()
    missing = [str(p.relative_to(DOCS)) for p in PAGES if f": {p.relative_to(DOCS)}" not in config]
    assert missing == []


def _command_paths() -> list[str]:
    import typer

    from router.cli import app

    def walk(command: Any, path: list[str]) -> list[str]:
        found = [" ".join(path)]
        for name, sub in getattr(command, "commands", {}).items():  # duck-typed: Typer may vendor click
            if not getattr(sub, "hidden", False):
                found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), ["router"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "DISABLE_MKDOCS_2_WARNING": "true",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


@pytest.mark.slow
def test_the_site_builds_strict_and_the_api_reference_covers_every_public_name(site):
    for package, names in (("router", router.__all__), ("training", training.__all__)):
        page = (site / "reference" / "api" / package / "index.html").read_text()
        missing = [name for name in names if f'id="{package}.{name}"' not in page]
        assert missing == [], f"{package}: no reference entry for {missing}"


@pytest.mark.slow
def test_the_cli_reference_has_every_command(site):
    page = html.unescape((site / "reference" / "cli" / "index.html").read_text())
    missing = [path for path in _command_paths() if f"<code>{path}</code>" not in page]
    assert missing == []


def test_quoted_missing_extra_errors_are_the_real_ones():
    from router._extras import MissingExtraError

    page = (DOCS / "how-to" / "install.md").read_text()
    assert f"router._extras.MissingExtraError: {MissingExtraError('sqlalchemy', 'ledger')}\n" in page
    assert f"error: {MissingExtraError('typer', 'cli')}\n" in page  # the router script's line
