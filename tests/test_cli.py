"""The ``router`` command line: output, JSON, exit codes 0 / 2, and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from router.cli import app
from tests._helpers import ROOT, catalog_toml, run_python


@pytest.fixture
def cli(in_tmp):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def test_route_json_parses_with_the_decision(cli):
    result = cli("route", "Fix typo in README", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == "haiku"
    assert payload["complexity"]["level"] == "simple"
    assert payload["escalation"][0] == "haiku"
    assert set(payload["expected_cost_usd"]) == {"haiku", "sonnet", "opus"}


def test_route_human_output_shows_level_score_and_reasons(cli):
    result = cli(
        "route",
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        "--files",
        "a.py,b.py",
        "--files",
        "c.py",
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("opus  (complex, score 80/100, architecture, heuristic)")
    assert "complex_keywords +30: complex keywords distributed, consensus, leader election" in out
    assert "file_count +10: 3 file(s)" in out
    assert "architecture +20: keyword 'architecture'" in out
    assert "concurrency +20: keyword 'async'" in out
    assert "escalation: opus" in out


@pytest.mark.parametrize(
    ("files", "count"),
    [
        (["--files", "a.py,b.py"], 2),
        (["--files", "a.py", "--files", "b.py", "-f", "c.py"], 3),
        (["--files", "a.py,,b.py", "--files", "c.py,d.py"], 4),
        ([], 0),
    ],
    ids=["comma", "repeated", "mixed", "none"],
)
def test_files_option_accepts_commas_and_repeats(cli, files, count):
    result = cli("route", "Tidy the module", *files, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["complexity"]["file_count"] == count


def test_context_file_adds_context_tokens(cli, in_tmp):
    (in_tmp / "ctx.txt").write_text("x" * 40_000)
    result = cli("route", "Explain this", "--context", "ctx.txt", "--json")
    assert json.loads(result.stdout)["complexity"]["factor_points"]["context_size"] == 10


def test_tradeoff_option(cli):
    result = cli("route", "Fix typo in README", "--tradeoff", "1", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["model"] == "opus"


def test_metadata_option_reaches_the_decision_and_both_outputs(cli):
    args = ["route", "Fix typo in README", "--metadata", "repo=acme/site", "--metadata", "query=a=b"]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metadata"] == {"repo": "acme/site", "query": "a=b"}
    human = cli(*args)
    assert human.exit_code == 0, human.output
    assert "  metadata: repo=acme/site, query=a=b" in human.stdout
    plain = cli("route", "Fix typo in README", "--json")
    assert json.loads(plain.stdout)["metadata"] is None
    assert "metadata:" not in cli("route", "Fix typo in README").stdout


def test_metadata_option_feeds_a_trained_router(cli, tmp_path_factory):
    from training import train_router
    from training.synthetic import generate_outcomes

    artifact = tmp_path_factory.mktemp("artifact") / "router"
    train_router(generate_outcomes(200, seed=1), log_to_mlflow=False, output_dir=artifact)
    result = cli("route", "Fix typo in README", "--model", str(artifact), "--metadata", "team=web", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["source"], payload["metadata"]) == ("learned", {"team": "web"})


def test_no_novelty_trains_a_router_that_scores_none(cli, in_tmp):
    from training.synthetic import generate_outcomes

    generate_outcomes(200, seed=3).to_csv(in_tmp / "log.csv", index=False)
    for flag, scored in (("--no-novelty", False), (None, True)):
        out = in_tmp / f"router-{scored}"
        args = ["train", "--data", "log.csv", "--no-mlflow", "--output", str(out), "--json"]
        result = cli(*args, *([flag] if flag else []))
        assert result.exit_code == 0, result.output
        assert (json.loads((out / "metadata.json").read_text())["novelty"] is None) is not scored
        routed = cli("route", "Fix the login bug", "--model", str(out), "--json")
        assert (json.loads(routed.stdout)["novelty"] is None) is not scored


def test_user_catalog_option(cli, in_tmp):
    path = in_tmp / "mine.toml"
    path.write_text(
        catalog_toml([{"name": "local", "inp": 0, "out": 0}, {"name": "cloud", "inp": 9, "out": 9}])
    )
    result = cli("route", "Data loss in the nightly export", "--catalog", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "cloud"


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["route", ""], "error: description must contain non-whitespace text, got ''"),
        (["route", "   "], "error: description must contain non-whitespace text"),
        (
            ["route", "Fix typo", "--tradeoff", "2"],
            r"error: tradeoff must be a number in [0, 1] or None, got 2.0",
        ),
        (["route", "Fix typo", "--tradeoff", "nan"], "error: tradeoff must be a number in [0, 1]"),
        (["route", "Fix", "--catalog", "missing-catalog.toml"], "error: model catalog file not found: "),
        (
            ["route", "Fix", "--context", "missing-context.txt"],
            "error: --context must be a readable file, got ",
        ),
        (
            ["route", "Fix", "--metadata", "repo"],
            "error: --metadata must be KEY=VALUE (e.g. --metadata repo=acme/site), got 'repo'",
        ),
        (["route", "Fix", "--metadata", "=acme"], "error: --metadata must be KEY=VALUE (e.g. "),
        (
            ["route", "Fix", "--metadata", "repo=a", "--metadata", "repo=b"],
            "error: --metadata 'repo' is given twice (repo=a and repo=b); give each key once",
        ),
    ],
    ids=[
        "empty",
        "whitespace",
        "tradeoff-2",
        "tradeoff-nan",
        "missing-catalog",
        "missing-context",
        "metadata-no-equals",
        "metadata-no-key",
        "metadata-twice",
    ],
)
def test_bad_input_exits_2_with_one_error_line(cli, args, match):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(match)


def test_invalid_catalog_names_the_field_and_keeps_markup_like_text(cli, in_tmp):
    path = in_tmp / "bad.toml"
    path.write_text('[models.a]\ntier = "fast"\n[models.b]\ntier = "fast"\ninput_cost_per_1m = -1\n')
    result = cli("route", "Fix", "--catalog", str(path))
    assert result.exit_code == 2
    assert "models.a.input_cost_per_1m: Field required" in result.stderr
    assert "models.b.input_cost_per_1m: Input should be greater than or equal to 0 (got -1)" in result.stderr


def test_error_text_is_not_read_as_rich_markup(cli, in_tmp):
    path = in_tmp / "bad.toml"
    path.write_text('[models."[bold]x"]\ntier = "fast"\n')
    result = cli("route", "Fix", "--catalog", str(path))
    assert result.exit_code == 2
    assert "models.[bold]x.input_cost_per_1m" in result.stderr


def test_unparseable_option_is_a_usage_error(cli):
    result = cli("route", "Fix", "--tradeoff", "high")
    assert result.exit_code == 2


@pytest.mark.parametrize("args", [["--help"], ["route", "--help"]], ids=["app", "route"])
def test_help(cli, args):
    result = cli(*args)
    assert result.exit_code == 0
    assert "route" in result.stdout
    if args[0] == "route":
        for option in ("--files", "--context", "--tradeoff", "--catalog", "--json", "--metadata"):
            assert option in result.stdout
        assert "--metadata repo=acme/site" in " ".join(result.stdout.split())  # taught with an example


def test_module_entry_point_in_a_subprocess(tmp_path):
    ok = run_python(["-m", "router.cli", "route", "Fix typo in README", "--json"], cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["model"] == "haiku"
    bad = run_python(["-m", "router.cli", "route", ""], cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: description must contain non-whitespace text, got ''"
    assert (ROOT / "router" / "cli" / "__main__.py").exists()


def test_long_error_stays_on_one_line(cli, in_tmp):
    missing = in_tmp / ("a-directory-with-a-rather-long-name-" * 4) / "catalog.toml"
    result = cli("route", "Fix", "--catalog", str(missing))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: model catalog file not found: {str(missing)!r}"]


def test_no_model_available_exits_1_with_one_error_line(cli, in_tmp):
    path = in_tmp / "down.toml"
    path.write_text(catalog_toml([{"name": "only", "inp": 1, "out": 1}]) + "is_available = false\n")
    result = cli("route", "Fix typo", "--catalog", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: only is unavailable and no alternative is both available and "
        "fits ~2 input tokens (alternatives: none)."
    ]
