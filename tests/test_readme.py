"""The README stays true: its Python runs, its catalog example loads, its quoted errors are real."""

from __future__ import annotations

import re
import shutil
import tomllib

import pytest

from router import Catalog, ComplexityLevel, ConfigError, EstimatorConfig, Router
from router._toml import packaged_file
from tests._helpers import ROOT

README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_quick_start_is_exactly_make_demo_and_make_test():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert blocks("sh")[0].split("\n")[:2] == ["make demo", "make test"]
    assert "```sh\nmake demo\nmake test\n```" in quick_start


def test_python_examples_run(in_tmp, capsys):
    shutil.copy(packaged_file("estimator.toml"), in_tmp / "my-estimator.toml")
    examples = blocks("python")
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("sonnet moderate 30.0\n")
    assert "['file_count +5: 2 file(s)', \"security +25: keyword 'oauth'\"]" in out
    assert "['sonnet', 'opus']" in out


def test_catalog_example_loads_and_routes():
    example = next(b for b in blocks("toml") if "[models.local-llama]" in b)
    catalog = Catalog.from_dict(tomllib.loads(example))
    assert catalog.names() == ["local-llama", "big-cloud"]
    assert catalog.output_tokens[ComplexityLevel.SIMPLE] == 300
    router = Router(catalog)
    assert router.route("Fix typo in README").model == "local-llama"
    assert router.route("Data loss in the nightly export").model == "big-cloud"


def test_quoted_catalog_error_is_the_real_one():
    example = next(b for b in blocks("toml") if "[models.local-llama]" in b)
    bad = tomllib.loads(example.replace("input_cost_per_1m = 5.0", "input_cost_per_1m = -5.0"))
    quoted = "models.big-cloud.input_cost_per_1m: Input should be greater than or equal to 0 (got -5.0)"
    assert quoted in README
    with pytest.raises(ConfigError, match=re.escape(quoted)):
        Catalog.from_dict(bad)


def test_quoted_estimator_error_is_the_real_one(tmp_path):
    quoted = "levels: levels.moderate (60.0) must be below levels.complex (50.0)"
    assert quoted in README
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
def test_example_table_rows_match_the_router(in_tmp, row, model, level):
    line = next(line for line in README.splitlines() if line.startswith(f"| {row} |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    files = [f.strip() for f in cells[1].split(",")]
    decision = Router().route(row, files=files)
    assert cells[2:] == [f"{decision.complexity.score:g}", level, model]
    assert (decision.model, decision.complexity.level.value) == (model, level)
