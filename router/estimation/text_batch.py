"""A batch of lower-cased descriptions as one byte per character, for numpy passes over the whole batch.

The keyword scan (``batch_keywords``) and the featurizer's words (``router.learned.batch_features``) both read
this one buffer instead of walking each text in Python:

* every text is lower-cased on its own (``str.lower`` has context rules, the final sigma, so lowering the
  joined batch could differ) and the texts are joined with ``"\\n"``, which is never part of a word or of a
  keyword the fast paths accept, so nothing found in the buffer spans two texts;
* each character becomes one byte, so a position in the buffer is a position in the text: ASCII stays as it
  is, a non-ASCII character that ``str.isalnum`` accepts becomes ``0x80`` and any other non-ASCII character
  ``0x81``. Neither equals an ASCII keyword byte, both separate the featurizer's ASCII words (as the ``?`` of
  ``encode("ascii", "replace")`` does in the per-task path), and ``0x80`` still counts as a word character
  for the keyword scan's word boundaries, which are those of the regex ``\\w`` on the Unicode text;
* ``PAD`` zero bytes follow the last text, so a fixed-width integer read at any character stays inside.

A text that is pure ASCII (the common case) costs one C-level ``encode``; a batch with non-ASCII characters
is decoded to code points once, and only its distinct non-ASCII code points are classified in Python.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PAD = 64  # zero bytes after the last text: a key of up to PAD - 8 bytes read at any character stays inside
ALNUM_HIGH = 0x80  # a non-ASCII character that is a word character (str.isalnum)
OTHER_HIGH = 0x81  # any other non-ASCII character

# bytes.translate tables: 1 where a byte is a word character as the regex \w has it (0x80 included), and 1
# where it is one of the featurizer's word bytes [a-z0-9_] (A-Z cannot survive lower()).
_ASCII_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TO_IS_WORD = bytes(1 if c in _ASCII_WORD or c == ALNUM_HIGH else 0 for c in range(256))
_TO_IS_ASCII_WORD = bytes(1 if c in _ASCII_WORD else 0 for c in range(256))

# Unsigned masks keeping the first n bytes (little-endian) of a uint64: MASKS[n] for n in 0..8.
MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


def _classify_non_ascii(error: UnicodeError) -> tuple[bytes, int]:
    """``encode("ascii")`` error handler: one byte per non-ASCII character, 0x80 if it is alphanumeric."""
    assert isinstance(error, UnicodeEncodeError)
    run = error.object[error.start : error.end]
    return bytes(ALNUM_HIGH if ch.isalnum() else OTHER_HIGH for ch in run), error.end


codecs.register_error("router.text_batch", _classify_non_ascii)


@dataclass(frozen=True, slots=True)
class TextBatch:
    """Lower-cased texts and their shared one-byte-per-character buffer (see the module docstring)."""

    lowered: list[str]
    codes: np.ndarray  # uint8: "\n", then "\n".join(lowered) one byte per character, then PAD zero bytes
    starts: np.ndarray  # int64, where each text starts in ``codes``
    lengths: np.ndarray  # int64, characters per text
    is_word: np.ndarray  # bool per byte: a word character as the regex \w has it on the Unicode text
    is_ascii_word: np.ndarray  # bool per byte: one of the featurizer's word bytes [a-z0-9_]

    def __len__(self) -> int:
        return len(self.lowered)

    def view(self, dtype: str) -> np.ndarray:
        """Little-endian integers (``"<u2"``, ``"<u8"``) read at every byte offset of the buffer (a view)."""
        size = np.dtype(dtype).itemsize
        return np.ndarray(shape=(len(self.codes) - size + 1,), dtype=dtype, buffer=self.codes, strides=(1,))

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        """The text each position belongs to."""
        return np.searchsorted(self.starts, positions, side="right") - 1


def text_batch(lowered: Sequence[str]) -> TextBatch:
    """The buffer of already lower-cased texts.

    An ASCII text is copied by ``encode``; a text with other characters goes through an error handler that
    Python calls once per run of non-ASCII characters.
    """
    lowered = list(lowered)
    lengths = np.fromiter(map(len, lowered), dtype=np.int64, count=len(lowered))
    starts = np.ones(len(lowered), dtype=np.int64)  # after the leading "\n"
    if len(lowered) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
        starts[1:] += 1
    raw = b"\n" + b"\n".join([t.encode("ascii", "router.text_batch") for t in lowered]) + bytes(PAD)
    codes = np.frombuffer(raw, dtype=np.uint8)
    is_word = np.frombuffer(raw.translate(_TO_IS_WORD), dtype=np.bool_)
    is_ascii_word = np.frombuffer(raw.translate(_TO_IS_ASCII_WORD), dtype=np.bool_)
    return TextBatch(lowered, codes, starts, lengths, is_word, is_ascii_word)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every run of True, from the edges of a boolean diff."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1  # the buffer starts and ends with a non-word byte
    return edges[0::2], edges[1::2]


def read_keys(view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray, chunks: int) -> list[np.ndarray]:
    """Fixed-width keys: the first ``lengths`` bytes at each start, zero-padded, as ``chunks`` uint64 arrays.

    Chunk ``j`` is read only where the span is longer than ``8 * j``, so no read goes further than 7 bytes
    past a span's end; a span may run past its text (a keyword tried near the end), by less than ``PAD - 8``.
    """
    keys = [view64[starts] & MASKS[np.minimum(lengths, 8)]]
    for j in range(1, chunks):
        rest = lengths - 8 * j
        at = np.flatnonzero(rest > 0)
        column = np.zeros(len(starts), dtype=np.uint64)
        column[at] = view64[starts[at] + 8 * j] & MASKS[np.minimum(rest[at], 8)]
        keys.append(column)
    return keys


_MIX = np.uint64(0x9E3779B97F4A7C15)


def hash_keys(keys: list[np.ndarray], salt: int = 0) -> np.ndarray:
    """One uint64 per span of ``read_keys`` (wrapping arithmetic); equal keys give equal hashes.

    Not collision-free by itself: ``KeyTable`` picks a salt under which its items' hashes differ, and checks
    the full key of whatever a hash finds.
    """
    mix = _MIX + np.uint64(2 * salt)
    h = keys[0] * mix
    for column in keys[1:]:
        h = (h ^ (h >> np.uint64(29))) + column
        h *= mix
    return h


class HashSlots:
    """Open addressing over distinct uint64 keys: ``find`` gives each query's index among the keys, or -1.

    A table of at least four slots per key, indexed by a multiplicative hash, linear probing; a look-up is a
    few numpy passes over the queries (most end at their first slot), not a binary search per query.
    """

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        self.bits = max(4, int(len(keys) * 4).bit_length())
        size = 1 << self.bits
        self.keys = np.zeros(size, dtype=np.uint64)
        self.index = np.full(size, -1, dtype=np.int64)
        mask = size - 1
        for i, (key, slot) in enumerate(zip(keys.tolist(), self._slots(keys).tolist(), strict=True)):
            while self.index[slot] >= 0:
                if self.keys[slot] == key:
                    raise ValueError("HashSlots keys must be distinct")
                slot = (slot + 1) & mask
            self.keys[slot] = key
            self.index[slot] = i

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * _MIX) >> np.uint64(64 - self.bits)).astype(np.int64)

    def find(self, queries: np.ndarray) -> np.ndarray:
        queries = np.asarray(queries, dtype=np.uint64)
        found = np.full(len(queries), -1, dtype=np.int64)
        pending = np.arange(len(queries))
        slots = self._slots(queries)
        mask = len(self.keys) - 1
        while len(pending):
            index = self.index[slots]
            hit = (self.keys[slots] == queries) & (index >= 0)
            found[pending[hit]] = index[hit]
            go_on = ~hit & (index >= 0)  # an occupied slot with another key: try the next one
            pending, queries, slots = pending[go_on], queries[go_on], (slots[go_on] + 1) & mask
        return found


class KeyTable:
    """Exact look-up of byte strings by their fixed-width keys: a hash, then a full-key check.

    Parameters
    ----------
    items : sequence of bytes
        The strings to find (distinct, none containing a zero byte, so the zero padding cannot alias).
    """

    def __init__(self, items: Sequence[bytes]) -> None:
        self.max_len = max(map(len, items), default=0)
        self.chunks = max(1, -(-self.max_len // 8))
        buf = np.frombuffer(b"".join(items) + bytes(PAD), dtype=np.uint8)
        offsets = np.zeros(len(items), dtype=np.int64)
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        if len(items) > 1:
            np.cumsum(lengths[:-1], out=offsets[1:])
        view64 = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        self.keys = read_keys(view64, offsets, lengths, self.chunks)
        for salt in range(64):  # a salt under which the items' hashes are distinct (the first, in practice)
            hashes = hash_keys(self.keys, salt)
            if len(np.unique(hashes)) == len(hashes):
                break
        else:  # pragma: no cover - 64 salts all colliding on distinct strings does not happen
            raise ValueError("no collision-free hash salt found")
        self.salt = salt
        self.slots = HashSlots(hashes)

    def find(self, view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The item index of each span (starts, lengths) of the buffer, or -1 where it is none of them."""
        found = np.full(len(starts), -1, dtype=np.int64)
        fits = np.flatnonzero(lengths <= self.max_len)
        if not len(fits) or not len(self.keys[0]):
            return found
        keys = read_keys(view64, starts[fits], lengths[fits], self.chunks)
        at = self.slots.find(hash_keys(keys, self.salt))
        # Distinct items have distinct hashes, so a span whose hash matches is that item or none of them.
        hit = np.flatnonzero(at >= 0)
        item = at[hit]
        same = np.ones(len(hit), dtype=bool)
        for mine, theirs in zip(keys, self.keys, strict=True):
            same &= mine[hit] == theirs[item]
        found[fits[hit[same]]] = item[same]
        return found
