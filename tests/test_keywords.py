"""Keyword matching: at a word start, case-insensitively; a trailing space asks for a whole word."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router._keywords import KeywordSet


@pytest.mark.parametrize(
    ("keyword", "text", "matches"),
    [
        ("auth ", "fix auth in the api", True),
        ("auth ", "auth", True),
        ("auth ", "auth.", True),
        ("auth ", "update the author list", False),
        ("auth ", "oauth flow", False),
        ("auth", "authentication", True),
        ("auth", "oauth", False),
        ("optimi", "optimization of the loop", True),
        ("optimi", "optimise", True),
        ("lock ", "a lock on the table", True),
        ("lock ", "the block is full", False),
        ("lock ", "locker room", False),
        ("race condition", "a race condition in the pool", True),
        ("race condition", "brace condition", False),
        ("cve-", "patch cve-2024-1", True),
        ("cve-", "xcve-2024", False),
        ("p0 ", "this is a p0 bug", True),
        ("p0 ", "p01 is fine", False),
        ("hotfix", "a_hotfix", False),  # "_" is a word character
        ("hotfix", "émigré hotfix", True),
    ],
    ids=lambda v: repr(v) if isinstance(v, str) else None,
)
def test_keyword_matches_at_a_word_start(keyword, text, matches):
    found = KeywordSet([keyword]).search(text)
    assert (found is not None) is matches
    if matches:
        assert found == keyword.strip()


def test_found_lists_distinct_keywords_in_order_of_first_appearance():
    keywords = KeywordSet(["cache", "thread", "distributed"])
    assert keywords.found("thread cache thread distributed cache") == ["thread", "cache", "distributed"]


def test_longest_keyword_wins_at_the_same_place():
    assert KeywordSet(["race", "race condition"]).search("a race condition") == "race condition"


def test_found_keywords_are_lower_cased_like_the_text():
    assert KeywordSet(["JWT", "OAuth"]).found("oauth with jwt") == ["oauth", "jwt"]


def test_empty_keyword_set_never_matches():
    keywords = KeywordSet([])
    assert keywords.search("anything at all") is None
    assert keywords.found("anything at all") == []


@pytest.mark.parametrize("blank", ["", " ", "\t"], ids=["empty", "space", "tab"])
def test_blank_keyword_is_refused(blank):
    with pytest.raises(ValueError, match="keyword must contain non-whitespace text"):
        KeywordSet(["ok", blank])


def reference_pattern(keyword: str) -> str:
    """The rule as the module docstring states it, written the obvious way."""
    body = keyword.strip().lower()
    head = r"\b" if body[0].isalnum() else ""
    tail = r"\b" if keyword.endswith(" ") and body[-1].isalnum() else ""
    return head + re.escape(body) + tail


KEYWORDS = ["auth ", "auth", "lock ", "optimi", "race condition", "cve-", "p0 ", "sso ", "c++", "x"]
FRAGMENTS = [*(k.strip() for k in KEYWORDS), "o", "b", "er", "_", "-", " ", ".", "é", "ß", "1", "\n"]


@given(
    st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
)
def test_keyword_set_agrees_with_the_documented_rule(keywords, text):
    expected = {k.strip().lower() for k in keywords if re.search(reference_pattern(k), text)}
    keyword_set = KeywordSet(keywords)
    assert (keyword_set.search(text) is not None) == bool(expected)
    assert set(keyword_set.found(text)) <= expected
