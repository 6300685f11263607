"""The keyword scan for a whole batch at once, in numpy, with the same results as ``KeywordIndex.scan``.

A keyword matches at the start of a word (``KeywordIndex``'s rule), so only word starts are candidates: the
starts of the batch's runs of ``[a-z0-9_]`` (one boolean diff over ``TextBatch``) not glued to a non-ASCII
letter. At each, a two-byte prefix (of the 8 bytes read there once, for the featurizer too) picks, from a
table of 65,536 bit sets (then, for longer keywords, three- and four-byte prefixes), the keyword lengths that
could start there; the (start, length) pairs are read as fixed-width integer keys and looked up in a
``WordTable`` of the keywords (exact: a short key is the bytes themselves, a long one is checked, and the
lengths must agree). A keyword ending in a space asks
for a word end too: the character after the match must not be a word character. Then, per list and text,
the first occurrence of each keyword is kept and ordered by (position, order in its list), as the per-text
scan orders them. No Python runs per occurrence.

The fast path needs every keyword to be printable ASCII and to start with a word character (the packaged
lists are); a configuration with others (a keyword starting with "-", or in another script) makes
``BatchKeywords`` scan each text with ``KeywordIndex`` instead, which gives the same ``KeywordHits``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from router.estimation.keywords import KeywordIndex, _parse
from router.estimation.text_batch import ALNUM_HIGH, PAD, TextBatch, WordTable

_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_MAX_GROUPS = 31  # distinct keyword lengths: one bit each in the prefix tables' uint32 bit sets
_LONGER = np.uint32(1 << 31)  # in the two-byte table: some keyword of three or more characters starts so


@dataclass(frozen=True, slots=True)
class KeywordHits:
    """The first occurrence of each keyword found, per list and text, as parallel arrays.

    Sorted by list, then text, then (position, order in the list): the order ``KeywordIndex.scan`` lists a
    text's keywords in. ``body`` indexes ``bodies``; ``lst`` indexes ``names``.
    """

    names: tuple[str, ...]
    bodies: tuple[str, ...]
    n_docs: int
    lst: np.ndarray
    doc: np.ndarray
    body: np.ndarray

    def first(self, name: str) -> np.ndarray:
        """Per text, the index in ``bodies`` of the list's first keyword found, or -1."""
        out = np.full(self.n_docs, -1, dtype=np.int64)
        sel = np.flatnonzero(self.lst == self.names.index(name))
        docs = self.doc[sel]
        head = np.ones(len(sel), dtype=bool)
        head[1:] = docs[1:] != docs[:-1]
        out[docs[head]] = self.body[sel[head]]
        return out

    def total(self, name: str, per_body: np.ndarray) -> np.ndarray:
        """Per text, the sum of ``per_body`` over the list's keywords found, added in the scan's order."""
        sel = np.flatnonzero(self.lst == self.names.index(name))
        return np.bincount(self.doc[sel], per_body[self.body[sel]], minlength=self.n_docs)

    def as_dicts(self) -> list[dict[str, list[str]]]:
        """What ``KeywordIndex.scan`` returns, for every text (Python per hit: for records only)."""
        found: list[dict[str, list[str]]] = [{name: [] for name in self.names} for _ in range(self.n_docs)]
        names, bodies = self.names, self.bodies
        for lst, doc, body in zip(self.lst.tolist(), self.doc.tolist(), self.body.tolist(), strict=True):
            found[doc][names[lst]].append(bodies[body])
        return found


class BatchKeywords:
    """Named keyword lists matched against a ``TextBatch`` (see the module docstring).

    Parameters
    ----------
    lists : mapping of str to iterable of str
        The same lists ``KeywordIndex`` takes.
    """

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        lists = {name: list(keywords) for name, keywords in lists.items()}
        self.names = tuple(lists)
        # Per distinct keyword text, every (list, order in that list, needs a word end) it counts for.
        credits: dict[str, list[tuple[int, int, bool]]] = {}
        for li, keywords in enumerate(lists.values()):
            for order, keyword in enumerate(keywords):
                body, whole = _parse(keyword)
                if body:
                    credits.setdefault(body, []).append((li, order, whole))
        self.bodies = tuple(credits)
        self._index_of = {body: i for i, body in enumerate(self.bodies)}
        lengths = sorted({len(b) for b in self.bodies})
        self.exact = (
            len(lengths) <= _MAX_GROUPS
            and all(len(b) <= PAD - 8 for b in self.bodies)
            and all(b[0] in _WORD_START and all(" " <= ch <= "~" for ch in b) for b in self.bodies)
        )
        self._fallback = None if self.exact else KeywordIndex(lists)
        flat = [(i, *c) for i, body in enumerate(self.bodies) for c in credits[body]]
        self._credit_count = np.bincount([f[0] for f in flat], minlength=len(self.bodies)).astype(np.int64)
        self._credit_start = np.concatenate([[0], np.cumsum(self._credit_count)[:-1]]).astype(np.int64)
        self._credit_list = np.array([f[1] for f in flat], dtype=np.int64)
        self._credit_order = np.array([f[2] for f in flat], dtype=np.int64)
        self._credit_whole = np.array([f[3] for f in flat], dtype=bool)
        self._n_orders = int(self._credit_order.max(initial=0)) + 1
        self._body_len = np.array([len(b) for b in self.bodies], dtype=np.int64)
        # Per length ("group"): the keywords of that length. Candidates are the word starts whose first bytes
        # begin some keyword: a direct table over two bytes for keywords of one or two characters, and
        # collision-free hash tables over three and four bytes for the others; each gives a bit set of groups.
        self._short_bits = np.zeros(1 << 16, dtype=np.uint32)
        self._prefix_tables: list[_PrefixTable] = []
        if not self.exact:
            return
        wide: dict[int, dict[int, int]] = {3: {}, 4: {}}
        self._keys = WordTable([b.encode() for b in self.bodies])  # item i is body i
        self._group_len = np.array(lengths, dtype=np.int64)
        for g, size in enumerate(lengths):
            ids = [i for i, b in enumerate(self.bodies) if len(b) == size]
            for i in ids:
                head = self.bodies[i].encode()[:4]
                if size == 1:  # any byte may follow a one-character keyword
                    self._short_bits[head[0] | (np.arange(256) << 8)] |= np.uint32(1 << g)
                elif size == 2:
                    self._short_bits[head[0] | head[1] << 8] |= np.uint32(1 << g)
                else:
                    self._short_bits[head[0] | head[1] << 8] |= _LONGER
                    key = int.from_bytes(head, "little")
                    wide[len(head)][key] = wide[len(head)].get(key, 0) | 1 << g
        self._prefix_tables = [_PrefixTable(width, bits) for width, bits in wide.items() if bits]

    def scan(self, batch: TextBatch) -> KeywordHits:
        """The keywords of every text of the batch (the texts' ``KeywordIndex.scan``, as arrays)."""
        if self._fallback is not None:
            return self._scan_each(batch)
        # Keywords start with an ASCII word character, so a keyword's word start is the start of a run of
        # [a-z0-9_] not glued to a non-ASCII letter before it (which would make it the middle of a \w run).
        word_starts, _, first8 = batch.ascii_word_runs()
        bits = self._short_bits[first8 & np.uint64(0xFFFF)]
        # The three- and four-byte prefixes only where the first two bytes begin a longer keyword.
        longer = np.flatnonzero(bits & _LONGER)
        heads = (first8[longer] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        wide = bits[longer] & ~_LONGER
        for table in self._prefix_tables:
            wide |= table.bits(heads)
        bits[longer] = wide
        candidates = np.flatnonzero(bits)
        if batch.has_alnum_high:
            candidates = candidates[batch.codes[word_starts[candidates] - 1] != ALNUM_HIGH]
        # One (word start, keyword length) pair per bit set, then one look-up for all of them.
        candidate_bits = bits[candidates]
        present = int(np.bitwise_or.reduce(candidate_bits)) if len(candidates) else 0
        rows = [np.flatnonzero(candidate_bits & np.uint32(1 << g)) for g in range(32) if present >> g & 1]
        groups = [g for g in range(32) if present >> g & 1]
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        group = np.repeat(np.array(groups, dtype=np.int64), [len(r) for r in rows])
        at = word_starts[candidates[row]]
        found = (
            self._keys.find_plus_one(batch.view("<u8"), at, self._group_len[group], check_lengths=True) - 1
        )
        hit = found >= 0
        pos, body = at[hit], found[hit]
        ends_word = ~batch.is_word_at(pos + self._body_len[body])
        # One row per (occurrence, list entry it counts for); a whole-word entry needs the word's end.
        count = self._credit_count[body]
        occurrence = np.repeat(np.arange(len(pos)), count)
        credit = self._credit_start[body][occurrence] + (
            np.arange(len(occurrence)) - np.repeat(np.cumsum(count) - count, count)
        )
        keep = ~self._credit_whole[credit] | ends_word[occurrence]
        occurrence, credit = occurrence[keep], credit[keep]
        return self._firsts(
            batch, pos[occurrence], body[occurrence], self._credit_list[credit], self._credit_order[credit]
        )

    def _firsts(
        self, batch: TextBatch, pos: np.ndarray, body: np.ndarray, lst: np.ndarray, order: np.ndarray
    ) -> KeywordHits:
        """The first occurrence of each (list, text, keyword), ordered as ``KeywordHits`` says."""
        n_docs = len(batch)
        span = int(batch.codes.size) + 1
        # Positions grow with the text, so (list, position, order) sorts by list, then text, then the scan's
        # order; the first of each (list, text, keyword) in that order is its first occurrence.
        rank = np.argsort((lst * span + pos) * self._n_orders + order, kind="stable")
        pos, body, lst = pos[rank], body[rank], lst[rank]
        doc = batch.doc_of(pos)
        _, first = np.unique((lst * n_docs + doc) * len(self.bodies) + body, return_index=True)
        first.sort()
        return KeywordHits(self.names, self.bodies, n_docs, lst[first], doc[first], body[first])

    def _scan_each(self, batch: TextBatch) -> KeywordHits:
        assert self._fallback is not None
        lst: list[int] = []
        doc: list[int] = []
        body: list[int] = []
        rank: list[int] = []
        for d, text in enumerate(batch.lowered()):
            for li, (_, found) in enumerate(self._fallback.scan(text).items()):
                for r, b in enumerate(found):
                    lst.append(li)
                    doc.append(d)
                    body.append(self._index_of[b])
                    rank.append(r)
        order = np.lexsort((np.array(rank, dtype=np.int64), np.array(doc, dtype=np.int64), np.array(lst)))
        return KeywordHits(
            self.names,
            self.bodies,
            len(batch),
            np.array(lst, dtype=np.int64)[order],
            np.array(doc, dtype=np.int64)[order],
            np.array(body, dtype=np.int64)[order],
        )


class _PrefixTable:
    """The group bit set of each keyword prefix of ``width`` (3 or 4) bytes, found by a multiplicative hash
    into 4,096 slots (small enough to stay in cache) with a multiplier under which the prefixes do not
    collide; a slot keeps its prefix, so a text's prefix that lands in a slot but differs gets no bits."""

    BITS = 12

    def __init__(self, width: int, bits: dict[int, int]) -> None:
        self.mask = np.uint32((1 << (8 * width)) - 1)
        keys = np.array(list(bits), dtype=np.uint32)
        self.shift = np.uint32(32 - self.BITS)
        if len(keys) > (1 << self.BITS) // 8:  # a configuration with thousands of keywords: a larger table
            self.shift = np.uint32(32 - min(20, 3 + len(keys).bit_length()))
        for attempt in range(100_000):  # a multiplier without collisions: a handful of tries
            self.multiplier = np.uint32((0x9E3779B1 + 2 * 0x61C88647 * attempt) % (1 << 32) | 1)
            slots = self._slots(keys)
            if len(np.unique(slots)) == len(slots):
                break
        else:  # pragma: no cover - 100,000 multipliers all colliding does not happen
            raise ValueError("no collision-free multiplier for the keyword prefixes")
        size = 1 << (32 - int(self.shift))
        self.keys = np.zeros(size, dtype=np.uint32)
        self.group_bits = np.zeros(size, dtype=np.uint32)
        self.keys[slots] = keys
        self.group_bits[slots] = np.array(list(bits.values()), dtype=np.uint32)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return (keys * self.multiplier) >> self.shift

    def bits(self, heads: np.ndarray) -> np.ndarray:
        """Per four-byte head read at a word start: the groups of the keywords it may begin."""
        keys = heads & self.mask
        slots = self._slots(keys)
        return np.where(self.keys[slots] == keys, self.group_bits[slots], np.uint32(0))
