"""Keyword matching for the estimator: every keyword list scanned in one pass of one Aho-Corasick automaton.

A keyword matches at the start of a word, case-insensitively; a trailing space in a keyword asks for the end
of a word too. Every keyword of every list goes into one automaton (``pyahocorasick``, in C), which walks the
text once and reports every occurrence of every keyword, overlapping ones included, so a longer keyword at a
position ("cache invalidation") never hides a shorter one ("cache"). Python then only checks the word
boundaries of those occurrences: a few dozen in a 2 KB description. The scan is linear in the text's length
and about five times faster than the one-regex trie it replaced (17 µs against 85 µs for 2 KB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import itemgetter

import ahocorasick


def _parse(keyword: str) -> tuple[str, bool]:
    body = keyword.strip().lower()
    return body, keyword.endswith(" ") and body[-1:].isalnum()


def _is_word_char(ch: str) -> bool:
    """What the regex ``\\w`` matches in a str pattern: letters, digits (any script) and the underscore."""
    return ch.isalnum() or ch == "_"


class KeywordIndex:
    """Named keyword lists compiled into one automaton.

    Examples
    --------
    >>> idx = KeywordIndex({"perf": ["cache", "slow"], "complex": ["cache invalidation"]})
    >>> idx.scan("fix slow cache invalidation")
    {'perf': ['slow', 'cache'], 'complex': ['cache invalidation']}
    """

    __slots__ = ("_automaton", "names")

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        self.names = tuple(lists)
        # Per distinct keyword text: whether it needs a word start (it begins with a word character), and
        # every (list, order in that list, needs a word end) it counts for.
        credits: dict[str, tuple[bool, list[tuple[str, int, bool]]]] = {}
        for name, keywords in lists.items():
            for order, keyword in enumerate(keywords):
                body, whole = _parse(keyword)
                if body:
                    credits.setdefault(body, (_is_word_char(body[0]), []))[1].append((name, order, whole))
        self._automaton: ahocorasick.Automaton | None = None
        if credits:
            automaton = ahocorasick.Automaton()
            for body, (needs_start, lists_of) in credits.items():
                automaton.add_word(body, (body, len(body), needs_start, tuple(lists_of)))
            automaton.make_automaton()
            self._automaton = automaton

    def scan(self, text: str) -> dict[str, list[str]]:
        """Per list, the distinct keywords found in ``text`` (already lower-cased), first appearance first."""
        firsts: dict[tuple[str, str], tuple[int, int]] = {}
        if self._automaton is not None:
            last = len(text) - 1
            # Inline checks, no helper calls: this loop runs once per keyword occurrence.
            for end, (body, size, needs_start, lists_of) in self._automaton.iter(text):
                start = end - size + 1
                if needs_start and start > 0:
                    before = text[start - 1]
                    if before.isalnum() or before == "_":
                        continue
                after = text[end + 1] if end < last else ""
                ends_word = not (after.isalnum() or after == "_")
                for name, order, whole in lists_of:
                    if (ends_word or not whole) and (name, body) not in firsts:
                        firsts[name, body] = (start, order)
        found: dict[str, list[str]] = {name: [] for name in self.names}
        # First appearance first; keywords of one list starting at the same place keep the list's order.
        for (name, body), _ in sorted(firsts.items(), key=itemgetter(1)):
            found[name].append(body)
        return found
