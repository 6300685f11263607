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
import functools
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


@functools.lru_cache(maxsize=4096)
def _classes(run: str) -> bytes:
    return bytes(ALNUM_HIGH if ch.isalnum() else OTHER_HIGH for ch in run)


def _classify_non_ascii(error: UnicodeError) -> tuple[bytes, int]:
    """``encode("ascii")`` error handler: one byte per non-ASCII character, 0x80 if it is alphanumeric.

    Runs of non-ASCII characters repeat (accents, quotes, dashes), so their classes are cached.
    """
    assert isinstance(error, UnicodeEncodeError)
    return _classes(error.object[error.start : error.end]), error.end


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
    has_alnum_high: bool  # some non-ASCII letter or digit (else word runs and ASCII word runs are the same)
    _runs: dict[str, tuple[np.ndarray, np.ndarray]]  # computed once per batch (word_runs, ascii_word_runs)

    def __len__(self) -> int:
        return len(self.lowered)

    def view(self, dtype: str) -> np.ndarray:
        """Little-endian integers (``"<u2"``, ``"<u8"``) read at every byte offset of the buffer (a view)."""
        size = np.dtype(dtype).itemsize
        return np.ndarray(shape=(len(self.codes) - size + 1,), dtype=dtype, buffer=self.codes, strides=(1,))

    def word_runs(self) -> tuple[np.ndarray, np.ndarray]:
        r"""Start and end of every run of word characters (the regex ``\w``)."""
        if "word" not in self._runs:
            # Without non-ASCII letters or digits, they are the runs of the featurizer's word bytes.
            self._runs["word"] = runs(self.is_word) if self.has_alnum_high else self.ascii_word_runs()
        return self._runs["word"]

    def ascii_word_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of every run of ``[a-z0-9_]``."""
        if "ascii" not in self._runs:
            self._runs["ascii"] = runs(self.is_ascii_word)
        return self._runs["ascii"]

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
    is_ascii_word = np.frombuffer(raw.translate(_TO_IS_ASCII_WORD), dtype=np.bool_)
    has_alnum_high = raw.find(ALNUM_HIGH) >= 0
    # Without a non-ASCII letter or digit, the word characters are the ASCII ones.
    is_word = np.frombuffer(raw.translate(_TO_IS_WORD), dtype=np.bool_) if has_alnum_high else is_ascii_word
    return TextBatch(lowered, codes, starts, lengths, is_word, is_ascii_word, has_alnum_high, {})


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every run of True, from the edges of a boolean diff."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1  # the buffer starts and ends with a non-word byte
    return edges[0::2], edges[1::2]


_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(31)


@dataclass(frozen=True, slots=True)
class SpanKeys:
    """Fixed-width integer keys of byte spans: their first 8 bytes (zero-padded) for every span, the next
    8-byte chunks only for the spans that reach them, the lengths, and a hash of it all."""

    lengths: np.ndarray  # int64
    first: np.ndarray  # uint64
    rest: list[tuple[np.ndarray, np.ndarray]]  # chunk j >= 1: (spans longer than 8 * j, their chunk j)
    hashes: np.ndarray  # uint64: equal spans, equal hashes


def span_keys(
    view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray, chunks: int, salt: int
) -> SpanKeys:
    """The keys of spans (starts, lengths) of a buffer read through its ``uint64`` view (``TextBatch.view``).

    A chunk is read only for the spans that reach it, so a read goes at most 7 bytes past a span's end; a
    span may run past its text (a keyword tried near the end), by less than ``PAD - 8``.
    """
    mix = _MIX + np.uint64(2 * salt)
    first = view64[starts] & MASKS[np.minimum(lengths, 8)]
    h = first * mix + lengths.astype(np.uint64)
    rest = []
    at = np.arange(len(starts))
    for j in range(1, chunks):
        at = at[lengths[at] > 8 * j]
        chunk = view64[starts[at] + 8 * j] & MASKS[np.minimum(lengths[at] - 8 * j, 8)]
        rest.append((at, chunk))
        mixed = h[at]
        h[at] = (mixed ^ (mixed >> _SHIFT)) * mix + chunk
    h ^= h >> _SHIFT
    h *= _MIX2
    h ^= h >> _SHIFT
    return SpanKeys(lengths, first, rest, h)


class PerfectSlots:
    """A collision-free look-up of distinct uint64 keys (hash and displace): ``find`` maps each query to its
    index among the keys, or -1, in a fixed number of numpy passes (no probing loop, no binary search).

    Keys go to buckets of about two by their high bits; each bucket gets a displacement (XOR-ed into a
    second hash) under which its keys land in free slots of a table twice the size of the key set. The
    table keeps each slot's key, so a query that is not a key lands on another key (or none) and misses.
    """

    def __init__(self, keys: np.ndarray, *, mixed: bool = False) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        self.premixed = mixed  # keys that are hashes already need one multiplication, not a full mix
        n = len(keys)
        self.slot_bits = max(4, (2 * n).bit_length())
        self.bucket_bits = max(1, (n // 2).bit_length())
        for salt in range(
            64
        ):  # a salt under which every bucket finds a displacement (the first, in practice)
            self.offset = np.uint64((2 * salt + 1) * int(_MIX) % (1 << 64))
            placed = self._place(keys)
            if placed is not None:
                self.displacement, self.index = placed
                break
        else:  # pragma: no cover - 64 salts all failing on distinct keys does not happen
            raise ValueError("no perfect hash found")
        self.keys = np.zeros(1 << self.slot_bits, dtype=np.uint64)
        self.keys[self.index >= 0] = keys[self.index[self.index >= 0]]

    def _mixed(self, keys: np.ndarray) -> np.ndarray:
        if self.premixed:
            return keys * self.offset  # odd: a bijection, and each salt reshuffles buckets and bases
        # splitmix64's finalizer: structured keys (bigram ids) spread over every bit.
        z = keys + self.offset
        z = (z ^ (z >> np.uint64(30))) * _MIX2
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> _SHIFT)

    def _buckets_and_bases(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = self._mixed(keys)
        buckets = (z >> np.uint64(64 - self.bucket_bits)).astype(np.int64)
        return buckets, (z & np.uint64((1 << self.slot_bits) - 1)).astype(np.int64)

    def _place(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        size = 1 << self.slot_bits
        buckets, bases = self._buckets_and_bases(keys)
        index = np.full(size, -1, dtype=np.int64)
        displacement = np.zeros(1 << self.bucket_bits, dtype=np.int64)
        order = np.argsort(buckets, kind="stable")
        starts = np.flatnonzero(np.diff(buckets[order], prepend=-1))
        groups = np.split(order, starts[1:]) if len(order) else []
        for members in sorted(groups, key=len, reverse=True):  # the fullest buckets first
            base = bases[members]
            if len(np.unique(base)) < len(base):
                return None  # no displacement separates keys with one base: try another salt
            for d in range(size):
                slots = base ^ d
                if (index[slots] < 0).all():
                    index[slots] = members
                    displacement[buckets[members[0]]] = d
                    break
            else:  # pragma: no cover - a table twice the key count always has room
                return None
        return displacement, index

    def find(self, queries: np.ndarray) -> np.ndarray:
        queries = np.asarray(queries, dtype=np.uint64)
        buckets, bases = self._buckets_and_bases(queries)
        slots = bases ^ self.displacement[buckets]
        index = self.index[slots]
        return np.where(self.keys[slots] == queries, index, -1)


class KeyTable:
    """Exact look-up of byte strings by their fixed-width keys: a perfect hash, then a full-key check.

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
        for salt in range(64):  # a salt under which the items' hashes are distinct (the first, in practice)
            keys = span_keys(view64, offsets, lengths, self.chunks, salt)
            if len(np.unique(keys.hashes)) == len(items):
                break
        else:  # pragma: no cover - 64 salts all colliding on distinct strings does not happen
            raise ValueError("no collision-free hash salt found")
        self.salt = salt
        self.lengths = lengths
        self.first = keys.first
        # Chunk j of every item (zero where an item is shorter), to check the spans that reach chunk j.
        self.rest = []
        for at, chunk in keys.rest:
            column = np.zeros(len(items), dtype=np.uint64)
            column[at] = chunk
            self.rest.append(column)
        self._hashes = keys.hashes
        self._slots: PerfectSlots | None = None

    @property
    def slots(self) -> PerfectSlots:
        if self._slots is None:  # built on first use: one decision at a time never needs it
            self._slots = PerfectSlots(self._hashes, mixed=True)
        return self._slots

    def find(self, view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The item index of each span (starts, lengths) of the buffer, or -1 where it is none of them."""
        if not len(self.lengths):
            return np.full(len(starts), -1, dtype=np.int64)
        fits = lengths <= self.max_len
        lengths = np.where(fits, lengths, 0)  # too long for any item: read nothing, miss below
        keys = span_keys(view64, starts, lengths, self.chunks, self.salt)
        found = self.slots.find(keys.hashes)
        # Distinct items have distinct hashes, so a span whose hash matches is that item or none of them.
        item = np.maximum(found, 0)
        same = fits & (self.lengths[item] == lengths) & (self.first[item] == keys.first)
        found = np.where(same, found, -1)
        for (at, chunk), theirs in zip(keys.rest, self.rest, strict=True):
            candidate = found[at]
            found[at[(candidate >= 0) & (theirs[np.maximum(candidate, 0)] != chunk)]] = -1
        return found
