"""ComplexityEstimator: the specification's examples, every scoring factor, the level rule, bad input."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import ComplexityEstimator, ComplexityLevel, EstimatorConfig, InvalidInputError, TaskType
from router.estimation.estimator import FACTORS, level_for

CFG = EstimatorConfig.default()

SPEC_EXAMPLES = [
    pytest.param("Fix typo in README", ["README.md"], "simple", "haiku", id="typo"),
    pytest.param(
        "Implement OAuth2 authentication with JWT tokens",
        ["auth.py", "middleware.py"],
        "moderate",
        "sonnet",
        id="auth-feature",
    ),
    pytest.param(
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        ["scheduler.py", "worker.py", "raft.py", "election.py"],
        "complex",
        "opus",
        id="distributed",
    ),
    pytest.param(
        "Fix SQL injection security vulnerability in the production login endpoint",
        ["login.py"],
        "critical",
        "opus",
        id="security-issue",
    ),
]


@pytest.mark.parametrize(("description", "files", "level", "model"), SPEC_EXAMPLES)
def test_spec_examples_land_at_their_level_and_model(estimator, in_tmp, description, files, level, model):
    result = estimator.estimate(description, files=files)
    assert result.level.value == level
    assert result.recommended_model == model
    assert result.level is level_for(result.score, result.is_critical, CFG)


def test_spec_examples_keep_the_levels_order(estimator, in_tmp):
    scores = [estimator.estimate(p.values[0], files=p.values[1]).score for p in SPEC_EXAMPLES]
    assert scores == sorted(scores)
    assert scores[0] < CFG.levels.moderate <= scores[1] < CFG.levels.complex <= scores[2]


# -- one test per scoring factor ---------------------------------------------------------------------


def contribution(result, factor: str) -> float:
    return result.factor_points[factor]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Fix SQL injection in the search form", "sql injection"),
        ("Production outage: checkout returns 500", "production outage"),
        ("Data loss when the queue restarts", "data loss"),
        ("Patch CVE-2024-1234 in the image parser", "cve-"),
        ("Users report an RCE via uploads", "rce"),
    ],
    ids=["sql-injection", "outage", "data-loss", "cve", "whole-word-rce"],
)
def test_critical_pattern_adds_its_points_and_makes_the_task_critical(estimator, text, pattern):
    result = estimator.estimate(text)
    assert contribution(result, "critical") == CFG.critical.points
    assert result.is_critical and result.has_security_implications
    assert result.level is ComplexityLevel.CRITICAL
    assert f"critical +{CFG.critical.points:g}: critical pattern '{pattern}'" in result.reasons


def test_critical_pattern_needs_a_word_start(estimator):
    result = estimator.estimate("Rename the source directory")  # "rce " inside "source" is not a match
    assert not result.is_critical
    assert contribution(result, "critical") == 0


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("Add a parser for the config files", 15.0),
        ("Move the user table migration into a transaction", 30.0),
        ("Implement sharding for the distributed consensus store", 30.0),
        ("Rename a variable", 0.0),
    ],
    ids=["one-keyword", "two-keywords-sum", "capped", "none"],
)
def test_complex_keywords_sum_their_points_up_to_the_cap(estimator, text, points):
    assert contribution(estimator.estimate(text), "complex_keywords") == points


def test_complex_keywords_cap_comes_from_config():
    cfg = CFG.model_copy(update={"complex_keywords": CFG.complex_keywords.model_copy(update={"cap": 100.0})})
    result = ComplexityEstimator(cfg).estimate("Implement sharding for the distributed consensus store")
    assert contribution(result, "complex_keywords") == 20.0 + 30.0 + 30.0
    assert "complex_keywords +80: complex keywords sharding, distributed, consensus" in result.reasons


def test_a_repeated_complex_keyword_counts_once(estimator):
    assert contribution(estimator.estimate("parser, parser and parser"), "complex_keywords") == 15.0


@pytest.mark.parametrize(
    ("count", "points"),
    [(0, 0), (1, 5), (2, 5), (3, 10), (4, 10), (5, 20), (9, 20), (10, 30), (19, 30), (20, 40), (200, 40)],
    ids=lambda v: str(v),
)
def test_file_count_steps(estimator, in_tmp, count, points):
    files = [f"missing_{i}.py" for i in range(count)]
    result = estimator.estimate("Tidy the module", files=files)
    assert result.file_count == count
    assert contribution(result, "file_count") == points


@pytest.mark.parametrize(
    ("lines", "points"),
    [(0, 0), (49, 0), (50, 5), (199, 5), (200, 10), (499, 10), (500, 20), (1999, 20), (2000, 30), (5000, 30)],
    ids=lambda v: str(v),
)
def test_line_count_steps_from_real_files(estimator, tmp_path, lines, points):
    path = tmp_path / "module.py"
    path.write_text("x = 1\n" * lines)
    result = estimator.estimate("Tidy the module", files=[path])
    assert result.line_count == lines
    assert contribution(result, "line_count") == points


def test_line_count_sums_over_files_and_accepts_str_paths(estimator, tmp_path):
    (tmp_path / "a.py").write_text("a\n" * 120)
    (tmp_path / "b.py").write_text("b\n" * 90)
    result = estimator.estimate("Tidy", files=[str(tmp_path / "a.py"), tmp_path / "b.py"])
    assert (result.file_count, result.line_count) == (2, 210)
    assert contribution(result, "line_count") == 10
    assert "line_count +10: 210 line(s)" in result.reasons


def test_file_order_does_not_change_the_estimate(estimator, tmp_path, rng):
    files = []
    for i in range(12):
        path = tmp_path / f"m{i}.py"
        path.write_text("x\n" * rng.randrange(0, 120))
        files.append(path)
    files += [tmp_path / "ghost.py", "missing.py"]
    first = estimator.estimate("Refactor the modules", files=files)
    rng.shuffle(files)
    again = estimator.estimate("Refactor the modules", files=files)
    assert (again.score, again.line_count, again.file_count) == (first.score, first.line_count, 14)


def test_paths_that_do_not_exist_still_count_as_files(estimator, tmp_path):
    (tmp_path / "real.py").write_text("x\n" * 60)
    files = [tmp_path / "real.py", tmp_path / "ghost.py", "no/such/dir/file.py", tmp_path]  # a dir: no lines
    result = estimator.estimate("Tidy", files=files)
    assert result.file_count == 4
    assert result.line_count == 60
    assert contribution(result, "file_count") == 10


@pytest.mark.parametrize(
    ("tokens", "points"),
    [(0, 0), (7_999, 0), (8_000, 10), (31_999, 10), (32_000, 20), (100_000, 20)],
    ids=lambda v: str(v),
)
def test_context_size_steps(estimator, tokens, points):
    context = "x" * int(tokens * CFG.context_size.chars_per_token)
    result = estimator.estimate("Explain this code", context=context)
    assert contribution(result, "context_size") == points
    assert result.estimated_tokens >= tokens


@pytest.mark.parametrize(
    ("factor", "text", "flag", "keyword"),
    [
        ("architecture", "Add a plugin system", "requires_architecture_change", "plugin system"),
        ("security", "Add password reset emails", "has_security_implications", "password"),
        ("performance", "Reduce latency of search", "has_performance_requirements", "latency"),
        ("concurrency", "Guard the counter with a mutex", "has_concurrency", "mutex"),
        ("deep_reasoning", "Investigate why totals drift", "requires_deep_reasoning", "investigate"),
    ],
    ids=["architecture", "security", "performance", "concurrency", "deep_reasoning"],
)
def test_flag_factor_adds_its_points_once_and_sets_its_flag(estimator, factor, text, flag, keyword):
    points = getattr(CFG, factor).points
    result = estimator.estimate(text)
    assert contribution(result, factor) == points
    assert getattr(result, flag) is True
    assert f"{factor} +{points:g}: keyword '{keyword}'" in result.reasons
    doubled = estimator.estimate(f"{text}; {text}")
    assert contribution(doubled, factor) == points


def test_no_flag_is_set_for_a_plain_task(estimator):
    result = estimator.estimate("Rename a variable")
    assert not any(
        [
            result.is_critical,
            result.has_security_implications,
            result.has_performance_requirements,
            result.has_concurrency,
            result.requires_architecture_change,
            result.requires_deep_reasoning,
        ]
    )
    assert result.score == 0
    assert result.reasons == ["no scoring factor fired"]


def test_reasons_name_every_contribution_with_its_points(estimator, in_tmp):
    result = estimator.estimate(
        "Investigate the async cache in the distributed auth architecture",
        files=["a.py", "b.py", "c.py"],
        context="y" * 40_000,
    )
    fired = {f: p for f, p in result.factor_points.items() if p > 0}
    assert set(fired) == set(FACTORS) - {"critical", "line_count"}
    assert len(result.reasons) == len(fired)
    for factor, points in fired.items():
        assert any(reason.startswith(f"{factor} +{points:g}: ") for reason in result.reasons), factor
    assert result.score == min(100.0, sum(fired.values()))


def test_score_is_clamped_to_100(estimator, in_tmp):
    result = estimator.estimate(
        "Production outage: investigate the distributed async cache security architecture",
        files=[f"f{i}.py" for i in range(25)],
    )
    assert sum(result.factor_points.values()) > 100
    assert result.score == 100.0


def test_factor_points_list_every_factor(estimator):
    assert list(estimator.estimate("Rename a variable").factor_points) == list(FACTORS)


# -- task type -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "task_type"),
    [
        ("Fix typo in README", TaskType.TYPO),
        ("Fix the indentation in setup.py", TaskType.FORMATTING),
        ("Update the changelog for 1.2", TaskType.DOCS),
        ("Write tests for the parser", TaskType.TESTS),
        ("Fix crash when the list is empty", TaskType.BUG_FIX),
        ("Refactor the billing module", TaskType.REFACTOR),
        ("Implement CSV export", TaskType.NEW_FEATURE),
        ("Speed up the report query", TaskType.PERFORMANCE),
        ("Fix XSS in comments", TaskType.SECURITY),
        ("Split the monolith into a microservice per domain", TaskType.ARCHITECTURE),
        ("Think about the quarterly roadmap", TaskType.GENERAL),
    ],
    ids=lambda v: v.value if isinstance(v, TaskType) else None,
)
def test_task_type_detection(estimator, text, task_type):
    assert estimator.estimate(text).task_type is task_type


def test_first_matching_task_type_rule_wins(estimator):
    # "security" is listed before "typo" in the rules, so a security typo is a security task.
    assert estimator.estimate("Fix typo in the security policy").task_type is TaskType.SECURITY


# -- level rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "critical", "level"),
    [
        (0, False, "simple"),
        (24.9, False, "simple"),
        (25, False, "moderate"),
        (49.9, False, "moderate"),
        (50, False, "complex"),
        (100, False, "complex"),
        (0, True, "critical"),
        (100, True, "critical"),
    ],
    ids=lambda v: str(v),
)
def test_level_rule(score, critical, level):
    assert level_for(score, critical, CFG).value == level


@given(st.text(max_size=300))
def test_any_text_scores_in_range_with_the_documented_level(text):
    estimator = ComplexityEstimator()
    if not text.strip():
        with pytest.raises(InvalidInputError, match="description must contain non-whitespace text"):
            estimator.estimate(text)
        return
    result = estimator.estimate(text)
    assert 0 <= result.score <= 100
    assert result.level is level_for(result.score, result.is_critical, estimator.config)
    assert result.is_critical == (result.factor_points["critical"] > 0)


WORDS = [
    "fix", "typo", "distributed", "cache", "auth", "author", "lock", "block", "async", "refactor",
    "architecture", "investigate", "parser", "the", "a", "README", "migration", "thread", "\n", "  ", "-",
]  # fmt: skip
INCIDENT_PHRASES = [
    ("Fix SQL injection in the login form", True),
    ("security vulnerability reported by a customer", True),
    ("production outage since the last deploy", True),
    ("Production incident: the API is down", True),
    ("possible data loss in the export job", True),
    ("hotfix needed", True),
    ("rotate the leaked credentials", True),
    ("harden password storage", False),
    ("check the authentication tokens", False),
    ("add CSRF protection", False),
]
task_texts = st.one_of(
    st.text(min_size=1, max_size=200).filter(str.strip),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join).filter(str.strip),
)


@given(task_texts, st.sampled_from(INCIDENT_PHRASES), st.booleans())
def test_adding_a_security_or_incident_phrase_never_lowers_the_score(text, phrase_and_critical, prepend):
    phrase, critical = phrase_and_critical
    estimator = ComplexityEstimator()
    before = estimator.estimate(text)
    after = estimator.estimate(f"{phrase} {text}" if prepend else f"{text} {phrase}")
    assert after.score >= before.score
    for factor in FACTORS:
        assert after.factor_points[factor] >= before.factor_points[factor], factor
    if critical:
        assert after.is_critical and after.level is ComplexityLevel.CRITICAL
    else:
        assert after.has_security_implications


# -- bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"description": ""}, "description must contain non-whitespace text, got ''"),
        ({"description": " \t\n"}, "description must contain non-whitespace text"),
        ({"description": None}, "description must be a str, got NoneType None"),
        ({"description": 123}, "description must be a str, got int 123"),
        ({"description": b"bytes"}, "description must be a str, got bytes b'bytes'"),
        ({"description": "ok", "files": "a.py"}, r"files must be a list of paths .*got str 'a.py'"),
        ({"description": "ok", "files": 5}, "files must be a list of paths .*got int 5"),
        ({"description": "ok", "files": ["a.py", 3]}, r"files\[1\] must be a path .*got int 3"),
        ({"description": "ok", "files": [None]}, r"files\[0\] must be a path .*got NoneType None"),
        ({"description": "ok", "files": [b"a.py"]}, r"files\[0\] must be a path .*got bytes"),
        ({"description": "ok", "context": 42}, "context must be a str or None, got int"),
    ],
    ids=[
        "empty",
        "whitespace",
        "none",
        "int",
        "bytes",
        "files-bare-str",
        "files-int",
        "files-int-item",
        "files-none-item",
        "files-bytes-item",
        "context-int",
    ],
)
def test_bad_input_raises_invalid_input_naming_the_field(estimator, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        estimator.estimate(**kwargs)
    assert estimator.get_statistics()["total_tasks"] == 0


def test_error_about_a_huge_argument_stays_short(estimator):
    with pytest.raises(InvalidInputError) as info:
        estimator.estimate(" " * 10_000_000)
    message = str(info.value)
    assert len(message) < 200
    assert "10000000 chars" in message


def test_ten_megabyte_description_is_estimated(estimator):
    filler = "lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 180_000
    text = filler + "Then fix the SQL injection."
    assert len(text) > 10_000_000
    result = estimator.estimate(text)
    assert result.is_critical  # the whole text was scanned, up to the last words
    assert result.estimated_tokens == int(len(text) / CFG.context_size.chars_per_token)


def python_calls(func) -> int:
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    # Collector callbacks (registered by other libraries) are Python calls the estimator does not make.
    gc.disable()
    sys.setprofile(profile)
    try:
        func()
    finally:
        sys.setprofile(None)
        gc.enable()
    return calls


def test_estimation_work_is_linear_in_the_text(estimator):
    # Deterministic stand-in for a timing test: the Python-level work (function calls) is the same for 1 kB
    # and 1 MB, so no Python loop runs per word or line; what grows with the text is the regex scanning,
    # whose patterns are literal keywords (no nested quantifiers to backtrack over), hence linear.
    unit = "refactor the cache layer and fix the flaky test. "
    small, large = unit * 20, unit * 20_000
    estimator.estimate(small)  # warm up caches and lazy imports
    assert python_calls(lambda: estimator.estimate(large)) == python_calls(lambda: estimator.estimate(small))


# -- statistics ---------------------------------------------------------------------------------------------


def test_get_statistics_counts_levels_types_and_mean_score(in_tmp):
    estimator = ComplexityEstimator()
    empty = estimator.get_statistics()
    assert empty["total_tasks"] == 0 and empty["average_score"] == 0.0
    results = [estimator.estimate(p.values[0], files=p.values[1]) for p in SPEC_EXAMPLES]
    stats = estimator.get_statistics()
    assert stats["total_tasks"] == 4
    assert stats["level_distribution"] == {"simple": 1, "moderate": 1, "complex": 1, "critical": 1}
    assert sum(stats["task_type_distribution"].values()) == 4
    assert stats["task_type_distribution"]["typo"] == 1
    assert stats["average_score"] == pytest.approx(sum(r.score for r in results) / 4)


def test_estimate_text_keeps_no_statistics(estimator):
    from router.estimation.estimator import FileFacts

    result = estimator.estimate_text("fix typo", FileFacts(1, 0), 0)
    assert result.level is ComplexityLevel.SIMPLE
    assert estimator.get_statistics()["total_tasks"] == 0


def test_custom_recommend_maps_levels_to_names():
    estimator = ComplexityEstimator(recommend=lambda level: f"model-for-{level.value}")
    assert estimator.estimate("Fix typo").recommended_model == "model-for-simple"


def test_line_count_is_a_newline_count(estimator, tmp_path):
    path = Path(tmp_path / "no_newline.py")
    path.write_text("one\ntwo")  # like `wc -l`: the unterminated last line is not counted
    assert estimator.estimate("Tidy", files=[path]).line_count == 1
