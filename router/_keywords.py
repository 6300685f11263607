"""Keyword matching shared by the estimator's factors: one compiled regex per keyword list.

A keyword matches at the start of a word, case-insensitively; a trailing space in a keyword asks for the end
of a word too. The regexes are alternations of literals, so matching is linear in the text's length.

Each alternative starts with a literal character and checks the word start just after it (a look-behind),
instead of leading with ``\\b``: the regex engine then skips an alternative on its first character, which
makes a scan of a long text an order of magnitude faster (10 MB descriptions are allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _keyword_pattern(keyword: str) -> str:
    body = keyword.strip().lower()
    if not body:
        raise ValueError(f"a keyword must contain non-whitespace text, got {keyword!r}")
    tail = r"\b" if keyword.endswith(" ") and body[-1:].isalnum() else ""
    first = re.escape(body[0])
    # Same as a leading \b before a word character: the character before `first` is not a word character.
    head = rf"(?<!\w{first})" if body[0].isalnum() else ""
    return first + head + re.escape(body[1:]) + tail


class KeywordSet:
    """A list of keywords compiled once; reports which of them a (lower-cased) text contains.

    Found keywords are reported stripped and lower-cased, as they appear in the text.
    """

    __slots__ = ("_regex", "keywords")

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords = tuple(dict.fromkeys(keywords))
        # Longest first, so "race condition" wins over a shorter keyword at the same place.
        ordered = sorted(self.keywords, key=lambda k: -len(k.strip()))
        # No groups: a literal-first alternative is what lets the engine skip it cheaply.
        # An empty set compiles to "(?!)", which never matches.
        self._regex = re.compile("|".join(_keyword_pattern(k) for k in ordered) or "(?!)")

    def search(self, text: str) -> str | None:
        """The first keyword found in ``text`` (already lower-cased), or None."""
        match = self._regex.search(text)
        return None if match is None else match.group(0)

    def found(self, text: str) -> list[str]:
        """Every distinct keyword found in ``text`` (already lower-cased), in order of first appearance."""
        return list(dict.fromkeys(match.group(0) for match in self._regex.finditer(text)))
