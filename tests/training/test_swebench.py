"""SWE-bench importer: the real figures where the shared data is present, its rules on a small fake copy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from router import InvalidInputError, ModelTier
from router._outcome_log import read_outcomes
from training.swebench import (
    CATALOG_MODELS,
    DEFAULT_MODELS,
    DEFAULT_SCAFFOLD,
    ENV_VAR,
    MODEL_NAMES,
    find_data_dir,
    import_swebench,
    load_swebench,
    main,
    router_name,
    swebench_catalog,
)


def _real_data_dir() -> Path | None:
    try:
        return find_data_dir()
    except InvalidInputError:
        return None


REAL = _real_data_dir()
needs_real_data = pytest.mark.skipif(
    REAL is None,
    reason=f"SWE-bench data absent: set {ENV_VAR} or provide ../shared/data/swebench_verified "
    "(the real data never lives in the repository)",
)

#: The README's table for the bash-only scaffold: (success rate, mean cost per task in dollars).
README_FIGURES = {
    "gpt-5-nano": (0.348, 0.038),
    "gpt-5-mini": (0.598, 0.035),
    "gpt-5": (0.650, 0.280),
    "claude-sonnet-4": (0.648, 0.371),
    "claude-opus-4.5": (0.744, 0.721),
}


@pytest.fixture(scope="module")
def real_log():
    return load_swebench()


@needs_real_data
@pytest.mark.slow
def test_default_import_has_500_tasks_for_each_of_the_five_models(real_log):
    frame = real_log.frame
    assert len(frame) == 2500 and frame["task_id"].nunique() == 500
    assert list(frame["model"].unique()) == list(DEFAULT_MODELS)
    assert real_log.dropped == {}
    assert frame.groupby("model").size().eq(500).all()


@needs_real_data
@pytest.mark.slow
@pytest.mark.parametrize("model", list(README_FIGURES))
def test_success_rate_and_mean_cost_match_the_readme(real_log, model: str):
    success, cost = README_FIGURES[model]
    summary = real_log.summary()
    assert summary.loc[model, "success"] == pytest.approx(success, abs=0.001)
    assert summary.loc[model, "mean_cost_usd"] == pytest.approx(cost, abs=0.0005)


@needs_real_data
@pytest.mark.slow
def test_rows_carry_the_task_text_and_iso_timestamps(real_log):
    frame = real_log.frame
    tasks = pd.read_csv(REAL / "tasks.csv").set_index("instance_id")["problem_statement"]  # type: ignore[operator]
    assert (frame["description"] == frame["task_id"].map(tasks)).all()
    assert frame["timestamp"].str.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z").all()
    assert set(frame["success"]) == {0.0, 1.0} and (frame["cost_usd"] > 0).all()


@needs_real_data
@pytest.mark.slow
def test_every_bash_only_model_has_a_stable_name():
    log = load_swebench(models=None)
    assert len(log.frame) == 24 * 500
    assert set(log.frame["model"]) == set(MODEL_NAMES.values())


@needs_real_data
@pytest.mark.slow
def test_a_scaffold_without_costs_is_refused_with_the_reason():
    with pytest.raises(InvalidInputError, match=r"dropped \{'cost_usd missing': 3000\}"):
        load_swebench(scaffold="SWE-agent", models=None)


@needs_real_data
@pytest.mark.slow
def test_command_line_writes_the_log_and_prints_the_readme_figures(tmp_path, capsys):
    out = tmp_path / "swe.parquet"
    assert main([str(out)]) == 0
    printed = capsys.readouterr().out
    for line in ("gpt-5-nano                     500     34.8%     $0.038",
                 "claude-opus-4.5                500     74.4%     $0.721"):  # fmt: skip
        assert line in printed
    assert "dropped rows: none" in printed
    assert read_outcomes(out).summary() == "2500 rows, 500 tasks, 5 models"


# --- Rules, on a small fake copy in the shared files' layout (runs everywhere). ---


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    tasks = pd.DataFrame({
        "instance_id": ["a__a-1", "a__a-2", "a__a-3"],
        "repo": "a/a", "created_at": "2020-01-01", "difficulty": "<15 min fix",
        "problem_statement": ["Fix the parser", "Crash on empty input", "   "],
    })  # fmt: skip
    bash, nano, opus = (
        DEFAULT_SCAFFOLD,
        "GPT-5 nano (2025-08-07) (medium reasoning)",
        "Claude 4.5 Opus medium (20251101)",
    )
    rows = [
        ("a__a-1", bash, nano, 1, 0.01), ("a__a-2", bash, nano, 0, 0.02), ("a__a-3", bash, nano, 1, 0.03),
        ("a__a-1", bash, opus, 1, 0.5), ("a__a-2", bash, opus, 1, None), ("a__a-9", bash, opus, 0, 0.4),
        ("a__a-1", bash, opus, 0, 0.6), ("a__a-1", "Other", "Claude 4 Sonnet", 1, None),
    ]  # fmt: skip
    outcomes = pd.DataFrame(rows, columns=["instance_id", "scaffold", "model", "resolved", "cost_usd"])
    outcomes["system"], outcomes["model_vendor"], outcomes["api_calls"] = "s", "v", 3
    outcomes["system_date"] = "2025-08-07"
    tasks.to_csv(tmp_path / "tasks.csv", index=False)
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    return tmp_path


def test_dropped_rows_are_counted_by_reason(fake_dir: Path):
    log = load_swebench(fake_dir, models=["gpt-5-nano", "claude-opus-4.5"])
    assert log.dropped == {
        "no task text in tasks.csv": 2,  # a__a-3 is blank, a__a-9 is not in tasks.csv
        "cost_usd missing": 1,
        "duplicate task and model": 1,
    }
    assert log.frame[["task_id", "model"]].values.tolist() == [
        ["a__a-1", "gpt-5-nano"], ["a__a-2", "gpt-5-nano"], ["a__a-1", "claude-opus-4.5"],
    ]  # fmt: skip
    assert log.frame["timestamp"].unique().tolist() == ["2025-08-07T00:00:00Z"]


def test_environment_variable_points_at_the_data(fake_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENV_VAR, str(fake_dir))
    assert find_data_dir() == fake_dir
    monkeypatch.setenv(ENV_VAR, str(fake_dir / "absent"))
    assert find_data_dir(fake_dir) == fake_dir, "an argument wins over the environment"


@pytest.mark.parametrize(
    ("via", "match"),
    [("argument", r"looked for outcomes.csv and tasks.csv in: .*absent"),
     ("environment", rf"Pass data_dir=.*or set {ENV_VAR}")],
    ids=["argument", "environment"],
)  # fmt: skip
def test_an_absent_directory_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch, via: str, match: str):
    absent = tmp_path / "absent"
    monkeypatch.setenv(ENV_VAR, str(absent))
    with pytest.raises(InvalidInputError, match=match):
        find_data_dir(absent if via == "argument" else None)


def test_import_writes_any_format_by_extension(fake_dir: Path, tmp_path: Path):
    for ext in ("csv", "parquet", "jsonl"):
        out = tmp_path / "out" / f"swe.{ext}"
        log = import_swebench(out, fake_dir, models=["gpt-5-nano"])
        pd.testing.assert_frame_equal(read_outcomes(out).frame, log.frame)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"models": ["gpt5"]},
            r"Unknown model\(s\) 'gpt5' in scaffold .*Known models: claude-opus-4.5, gpt-5-nano",
        ),
        ({"scaffold": "Nope"}, r"Unknown scaffold 'Nope'. Scaffolds in .*: Other, mini-swe-agent"),
        ({"scaffold": "Other", "models": None}, r"No SWE-bench rows left .*'cost_usd missing': 1"),
    ],
    ids=["unknown-model", "unknown-scaffold", "no-costs"],
)
def test_bad_choices_name_what_is_allowed(fake_dir: Path, kwargs: dict[str, object], match: str):
    with pytest.raises(InvalidInputError, match=match):
        load_swebench(fake_dir, **kwargs)  # type: ignore[arg-type]


def test_models_may_be_named_by_their_source_strings(fake_dir: Path):
    log = load_swebench(fake_dir, models=["GPT-5 nano (2025-08-07) (medium reasoning)"])
    assert set(log.frame["model"]) == {"gpt-5-nano"}


def test_router_names_are_stable_and_unknown_models_get_a_slug():
    assert [MODEL_NAMES[k] for k in MODEL_NAMES if MODEL_NAMES[k] in DEFAULT_MODELS] == list(DEFAULT_MODELS)
    assert len(set(MODEL_NAMES.values())) == len(MODEL_NAMES)
    assert router_name("Claude 4.5 Opus medium (20251101)") == "claude-opus-4.5"
    assert router_name("Some New Model (2026-01-01)") == "some-new-model-2026-01-01"


def test_catalog_has_list_prices_tiers_and_routing_by_price():
    catalog = swebench_catalog()
    assert [m.name for m in catalog.by_price] == list(DEFAULT_MODELS)
    prices = {m.name: (m.input_cost_per_1m, m.output_cost_per_1m) for m in catalog.models.values()}
    assert prices == {"gpt-5-nano": (0.05, 0.40), "gpt-5-mini": (0.25, 2.00), "gpt-5": (1.25, 10.00),
                      "claude-sonnet-4": (3.00, 15.00), "claude-opus-4.5": (5.00, 25.00)}  # fmt: skip
    tiers = [catalog.get(n).tier for n in DEFAULT_MODELS]
    assert tiers == [
        ModelTier.FAST,
        ModelTier.FAST,
        ModelTier.BALANCED,
        ModelTier.BALANCED,
        ModelTier.ADVANCED,
    ]
    windows = {n: catalog.get(n).context_window for n in DEFAULT_MODELS}
    assert windows == {"gpt-5-nano": 400_000, "gpt-5-mini": 400_000, "gpt-5": 400_000,
                       "claude-sonnet-4": 200_000, "claude-opus-4.5": 200_000}  # fmt: skip
    assert [catalog.primary_for(level) for level in ("simple", "moderate", "complex", "critical")] == [
        "gpt-5-nano", "gpt-5-mini", "gpt-5", "claude-opus-4.5",
    ]  # fmt: skip
    assert catalog.stronger_than("gpt-5") == ["claude-sonnet-4", "claude-opus-4.5"]


def test_catalog_of_a_subset_routes_by_price_and_unknown_prices_are_refused():
    catalog = swebench_catalog(["gpt-5-mini", "claude-opus-4.5"])
    assert (
        catalog.primary_for("simple") == "gpt-5-mini" and catalog.primary_for("critical") == "claude-opus-4.5"
    )
    with pytest.raises(InvalidInputError, match=r"No prices known for 'o3'. Models with prices: gpt-5-nano"):
        swebench_catalog(["o3"])
    assert set(CATALOG_MODELS) == set(DEFAULT_MODELS)
