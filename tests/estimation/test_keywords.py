"""Keyword matching: at a word start, case-insensitively; a trailing space asks for a whole word.

Tested through the estimator's public behaviour (a config whose keyword lists hold the keywords under
test), so the tests hold whatever the matcher's implementation.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import ComplexityEstimator, EstimatorConfig

DEFAULT = EstimatorConfig.default()


def estimator_with(*, critical: list[str] | None = None, complex_points: dict[str, float] | None = None):
    update: dict[str, object] = {}
    if critical is not None:
        update["critical"] = DEFAULT.critical.model_copy(update={"patterns": critical})
    if complex_points is not None:
        update["complex_keywords"] = DEFAULT.complex_keywords.model_copy(
            update={"points": complex_points, "cap": 1000.0}
        )
    return ComplexityEstimator(DEFAULT.model_copy(update=update))


@pytest.mark.parametrize(
    ("keyword", "text", "matches"),
    [
        ("auth ", "fix auth in the api", True),
        ("auth ", "auth", True),
        ("auth ", "auth.", True),
        ("auth ", "update the author list", False),
        ("auth ", "oauth flow", False),
        ("auth", "authentication", True),
        ("auth", "AUTHENTICATION", True),
        ("auth", "oauth", False),
        ("optimi", "optimization of the loop", True),
        ("optimi", "Optimise", True),
        ("lock ", "a lock on the table", True),
        ("lock ", "the block is full", False),
        ("lock ", "locker room", False),
        ("race condition", "a race condition in the pool", True),
        ("race condition", "brace condition", False),
        ("cve-", "patch CVE-2024-1", True),
        ("cve-", "xcve-2024", False),
        ("p0 ", "this is a P0 bug", True),
        ("p0 ", "p01 is fine", False),
        ("hotfix", "a_hotfix", False),  # "_" is a word character
        ("hotfix", "émigré hotfix", True),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else None,
)
def test_keyword_matches_at_a_word_start(keyword, text, matches):
    result = estimator_with(critical=[keyword]).estimate(text)
    assert result.is_critical is matches
    if matches:
        assert f"critical pattern '{keyword.strip()}'" in result.reasons[0]


def test_keywords_are_listed_once_in_order_of_first_appearance():
    estimator = estimator_with(complex_points={"cache": 1.0, "thread": 2.0, "distributed": 4.0})
    result = estimator.estimate("thread cache thread distributed cache")
    assert result.factor_points["complex_keywords"] == 7.0
    assert "complex keywords thread, cache, distributed" in result.reasons[0]


def test_keywords_in_the_config_may_have_any_case():
    estimator = estimator_with(complex_points={"JWT": 3.0, "OAuth": 4.0})
    assert estimator.estimate("oauth with jwt").factor_points["complex_keywords"] == 7.0


def test_longer_keyword_at_the_same_place_is_found():
    result = estimator_with(critical=["race", "race condition"]).estimate("a race condition")
    assert result.is_critical


def test_empty_keyword_table_never_matches():
    estimator = estimator_with(complex_points={})
    result = estimator.estimate("distributed consensus")
    assert result.factor_points["complex_keywords"] == 0


def reference_pattern(keyword: str) -> str:
    """The rule as the module docstring states it, written the obvious way."""
    body = keyword.strip().lower()
    head = r"\b" if body[0].isalnum() else ""
    tail = r"\b" if keyword.endswith(" ") and body[-1].isalnum() else ""
    return head + re.escape(body) + tail


KEYWORDS = ["auth ", "auth", "lock ", "optimi", "race condition", "cve-", "p0 ", "sso ", "c++", "x"]
FRAGMENTS = [*(k.strip() for k in KEYWORDS), "o", "b", "er", "_", "-", " ", ".", "é", "ß", "1", "\n", "A"]


@given(
    st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12).map("".join).filter(str.strip),
)
def test_matching_agrees_with_the_documented_rule(keywords, text):
    expected = {k.strip() for k in keywords if re.search(reference_pattern(k), text.lower())}
    points = {k: 1.0 for k in keywords}
    result = estimator_with(critical=keywords, complex_points=points).estimate(text)
    assert result.is_critical == bool(expected)
    found = result.factor_points["complex_keywords"]  # one point per distinct keyword found
    assert (0 < found <= len(expected)) if expected else found == 0


def reference_scan(lists: dict[str, list[str]], text: str) -> dict[str, list[str]]:
    """Each keyword searched on its own; per list, ordered by first match, then by place in the list."""
    found = {}
    for name, keywords in lists.items():
        firsts = {}
        for order, keyword in enumerate(keywords):
            body = keyword.strip().lower()
            head = r"(?<!\w)" if re.match(r"\w", body) else ""
            tail = r"(?!\w)" if keyword.endswith(" ") and body[-1].isalnum() else ""
            match = re.search(head + re.escape(body) + tail, text)
            if match and body not in firsts:
                firsts[body] = (match.start(), order)
        found[name] = sorted(firsts, key=firsts.__getitem__)
    return found


@given(
    st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=5, unique=True),
    st.lists(st.sampled_from(KEYWORDS), max_size=4, unique=True),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=16).map("".join),
)
def test_one_pass_scan_finds_what_separate_searches_find_in_the_same_order(first, second, text):
    from router.estimation.keywords import KeywordIndex

    lists = {"a": first, "b": second}
    assert KeywordIndex(lists).scan(text.lower()) == reference_scan(lists, text.lower())
