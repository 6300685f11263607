"""Keyword matching shared by the estimator's factors: one compiled regex per keyword list.

A keyword matches at the start of a word, case-insensitively; a trailing space in a keyword asks for the end
of a word too. The regexes are alternations of literals, so matching is linear in the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _keyword_pattern(keyword: str) -> str:
    body = keyword.strip().lower()
    tail = r"\b" if keyword.endswith(" ") and body[-1:].isalnum() else ""
    head = r"\b" if body[:1].isalnum() else ""
    return head + re.escape(body) + tail


class KeywordSet:
    """A list of keywords compiled once; reports which of them a (lower-cased) text contains."""

    __slots__ = ("_index", "_regex", "keywords")

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        # Longest first, so "race condition" wins over a shorter keyword at the same place.
        ordered = sorted(self.keywords, key=lambda k: -len(k.strip()))
        self._regex = re.compile("|".join(f"({_keyword_pattern(k)})" for k in ordered))
        self._index = {i + 1: k.strip() for i, k in enumerate(ordered)}

    def search(self, text: str) -> str | None:
        """The first keyword found in ``text`` (already lower-cased), or None."""
        match = self._regex.search(text)
        return None if match is None else self._index[match.lastindex or 0]

    def found(self, text: str) -> list[str]:
        """Every distinct keyword found in ``text`` (already lower-cased), in order of first appearance."""
        seen: dict[str, None] = {}
        for match in self._regex.finditer(text):
            seen.setdefault(self._index[match.lastindex or 0], None)
        return list(seen)
