"""A batch of lower-cased descriptions as one byte per character, for numpy passes over the whole batch.

The keyword scan (``batch_keywords``) and the featurizer's words (``router.learned.batch_features``) both read
this one buffer instead of walking each text in Python:

* the texts are joined with ``"\\n"``, which is never part of a word or of a keyword the fast paths accept, so
  nothing found in the buffer spans two texts;
* each character becomes one byte, so a position in the buffer is a position in the lower-cased text: ASCII
  is lower-cased, a non-ASCII character whose ``str.lower()`` is ASCII (the Kelvin sign) becomes that
  letter, one whose lower case ``str.isalnum`` accepts becomes ``0x80`` and any other ``0x81``. Neither
  equals an ASCII keyword byte, both separate the featurizer's ASCII words (as the ``?`` of
  ``encode("ascii", "replace")`` does in the per-task path), and ``0x80`` still counts as a word character
  for the keyword scan's word boundaries, which are those of the regex ``\\w`` on the Unicode text;
* ``PAD`` zero bytes follow the last text, so a fixed-width integer read at any character stays inside.

No ``str.lower()`` runs per text: the batch is joined and encoded to UTF-8 once (C), one ``bytes.translate``
lower-cases ASCII and deletes UTF-8 continuation bytes (leaving one lead byte per non-ASCII character), and
the lead bytes are replaced by the classes of their code points, decoded in numpy and classified in Python
once per distinct code point. Per character this is what lower-casing the text first gives: Python's
``str.lower`` maps each character on its own except the final sigma (``σ``/``ς``, both letters, one class)
and the one character whose lower case is two characters, "İ" (U+0130); a text holding it is lower-cased in
Python first (lower-casing is idempotent, so the rest of the path gives that text's bytes unchanged).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PAD = 64  # zero bytes after the last text: a key of up to PAD - 8 bytes read at any character stays inside
ALNUM_HIGH = 0x80  # a non-ASCII character that is a word character (str.isalnum)
OTHER_HIGH = 0x81  # any other non-ASCII character

# bytes.translate table: 1 where a byte is one of the featurizer's word bytes [a-z0-9_] (A-Z cannot survive
# lower()). The regex \w of the keyword scan also takes 0x80 (``TextBatch.is_word_at``).
_ASCII_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TO_IS_ASCII_WORD = bytes(1 if c in _ASCII_WORD else 0 for c in range(256))
# ASCII lower-cased; UTF-8 continuation bytes (0x80-0xBF) deleted by the same translate.
_LOWER_ASCII = bytes(c + 32 if 65 <= c <= 90 else c for c in range(256))
_CONTINUATION = bytes(range(0x80, 0xC0))
_EXPANDS = -1  # a character whose lower case is more than one character


@functools.lru_cache(maxsize=1 << 16)
def _class_of(code_point: int) -> int:
    """The byte a non-ASCII character becomes once lower-cased (``_EXPANDS`` if it becomes several)."""
    low = chr(code_point).lower()
    if len(low) != 1:
        return _EXPANDS
    if ord(low) < 0x80:
        return ord(low)
    return ALNUM_HIGH if low.isalnum() else OTHER_HIGH


@dataclass(frozen=True, slots=True)
class TextBatch:
    """Texts and their shared one-byte-per-character lower-cased buffer (see the module docstring)."""

    texts: list[str]  # as given (a text holding "İ" lower-cased); ``lowered()`` gives the lower-cased texts
    raw: bytes  # the buffer ``codes`` reads
    codes: np.ndarray  # uint8: "\n", then the lower-cased texts joined by "\n" one byte per character, PAD
    starts: np.ndarray  # int64, where each text starts in ``codes``
    lengths: np.ndarray  # int64, characters per lower-cased text
    is_ascii_word: np.ndarray  # bool per byte: one of the featurizer's word bytes [a-z0-9_]
    has_alnum_high: bool  # some non-ASCII letter or digit (a word character for the keyword scan)
    _cache: dict[str, object]  # computed once per batch (runs, lower-cased texts)

    def __len__(self) -> int:
        return len(self.texts)

    def lowered(self) -> list[str]:
        """The lower-cased texts (Python per text: only for the per-text keyword fallback)."""
        if "lowered" not in self._cache:
            self._cache["lowered"] = [t.lower() for t in self.texts]
        return self._cache["lowered"]  # type: ignore[return-value]

    def view(self, dtype: str) -> np.ndarray:
        """Little-endian integers (``"<u2"``, ``"<u8"``) read at every byte offset of the buffer (a view)."""
        size = np.dtype(dtype).itemsize
        return np.ndarray(shape=(len(self.codes) - size + 1,), dtype=dtype, buffer=self.codes, strides=(1,))

    def ascii_word_runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start and end of every run of ``[a-z0-9_]``, and the 8 bytes read at each start (little-endian
        ``uint64``, one unaligned read per run shared by the keyword scan and the words)."""
        if "ascii" not in self._cache:
            starts, ends = runs(self.is_ascii_word)
            self._cache["ascii"] = (starts, ends, self.view("<u8")[starts])
        return self._cache["ascii"]  # type: ignore[return-value]

    def is_word_at(self, positions: np.ndarray) -> np.ndarray:
        r"""Whether the characters at ``positions`` are word characters as the regex ``\w`` has them."""
        found = self.is_ascii_word[positions]
        if self.has_alnum_high:
            found |= self.codes[positions] == ALNUM_HIGH
        return found

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        """The text each position belongs to."""
        return np.searchsorted(self.starts, positions, side="right") - 1

    def doc_of_sorted(self, positions: np.ndarray) -> np.ndarray:
        """``doc_of`` for sorted positions inside the texts: a search per text, not per position."""
        first = np.searchsorted(positions, self.starts)
        return np.repeat(np.arange(len(self)), np.diff(first, append=len(positions)))

    def count_byte(self, value: int) -> np.ndarray:
        """How many times the byte ``value`` (an ASCII character) occurs in each text."""
        at = np.flatnonzero(self.codes == value)
        return np.searchsorted(at, self.starts + self.lengths) - np.searchsorted(at, self.starts)

    def count_runs(self, value: int, width: int) -> np.ndarray:
        """``str.count`` of ``width`` copies of the ASCII character ``value`` in each text (non-overlapping:
        a run of ``n`` copies holds ``n // width``)."""
        at = np.flatnonzero(self.codes == value)
        out = np.zeros(len(self), dtype=np.int64)
        if len(at):
            head = np.flatnonzero(np.diff(at, prepend=-2) != 1)
            size = np.diff(np.append(head, len(at)))
            out += np.bincount(self.doc_of(at[head]), size // width, minlength=len(self)).astype(np.int64)
        return out

    def contains(self, needle: bytes) -> np.ndarray:
        """Per text, whether it contains the ASCII string ``needle`` (one ``bytes.find`` per text that does,
        at most)."""
        data = self.raw
        found = np.zeros(len(self), dtype=bool)
        starts = self.starts.tolist()
        ends = (self.starts + self.lengths).tolist()
        at = data.find(needle)
        while at >= 0:
            doc = bisect.bisect_right(starts, at) - 1
            if at + len(needle) <= ends[doc]:
                found[doc] = True
                at = data.find(needle, ends[doc])
            else:  # pragma: no cover - a needle without "\n" cannot span two texts
                at = data.find(needle, at + 1)
        return found


_ALLOCATOR_HINT = 16 << 20  # bytes: one untouched block this large sets glibc's dynamic thresholds
_allocator_hinted = False


def _hint_allocator() -> None:
    """Free one large untouched block, once per process, before the first batch.

    A batch's numpy temporaries are a few MB in all, each array a few hundred KB. glibc's malloc serves them
    from its heap once it has seen a freed block of that size, but returns the heap's top to the system as
    soon as more than twice the largest freed block sits free there: at the end of every chunk, so the next
    chunk faults every page in again (measured: 3 to 9 page faults and 6 to 17 us of system time per task). A
    freed 16 MB block raises that limit to 32 MB, as a process that once handled a large batch would have it;
    the block is never written, so it costs two system calls and no memory. Other allocators ignore it.
    """
    global _allocator_hinted
    if not _allocator_hinted:
        _allocator_hinted = True
        np.empty(_ALLOCATOR_HINT, dtype=np.uint8)


def text_batch(texts: Sequence[str]) -> TextBatch:
    """The buffer of a batch of texts, lower-cased as ``str.lower`` does (already lower-cased texts are fine:
    lower-casing is idempotent)."""
    _hint_allocator()
    texts = list(texts)
    joined = "\n".join(["", *texts]) if texts else "\n"
    utf8 = joined.encode("utf-8", "surrogatepass")  # lone surrogates: three bytes, as any other character
    compact = utf8.translate(_LOWER_ASCII, _CONTINUATION)
    if len(compact) == len(utf8):  # ASCII only
        raw = compact + bytes(PAD)
    else:
        buffer = bytearray(compact)
        buffer += bytes(PAD)
        codes = np.frombuffer(buffer, dtype=np.uint8)
        expanding = _classify_leads(np.frombuffer(utf8, dtype=np.uint8), codes)
        if expanding is not None:
            # A text holding "İ" (lower case: two characters) is lower-cased in Python, then read again.
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            bad = set((np.searchsorted(_starts(lengths), expanding, side="right") - 1).tolist())
            return text_batch([t.lower() if i in bad else t for i, t in enumerate(texts)])
        raw = bytes(buffer)  # immutable from here on
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = np.frombuffer(raw, dtype=np.uint8)
    is_ascii_word = np.frombuffer(raw.translate(_TO_IS_ASCII_WORD), dtype=np.bool_)
    has_alnum_high = raw.find(ALNUM_HIGH) >= 0
    return TextBatch(texts, raw, codes, _starts(lengths), lengths, is_ascii_word, has_alnum_high, {})


def _starts(lengths: np.ndarray) -> np.ndarray:
    starts = np.ones(len(lengths), dtype=np.int64)  # after the leading "\n"
    if len(lengths) > 1:
        np.cumsum(lengths[:-1] + 1, out=starts[1:])
        starts[1:] += 1
    return starts


def _classify_leads(utf8: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """Replace each non-ASCII character's UTF-8 lead byte in ``codes`` by its class (see the module
    docstring); return the positions of characters whose lower case is several characters, if any."""
    lead = np.flatnonzero(utf8 >= 0xC0)
    first = utf8[lead].astype(np.int64)
    size = 2 + (first >= 0xE0) + (first >= 0xF0)  # bytes of the character
    last = len(utf8) - 1  # a byte past the end is never used (masked by size below)
    b1 = utf8[np.minimum(lead + 1, last)].astype(np.int64) & 0x3F
    b2 = utf8[np.minimum(lead + 2, last)].astype(np.int64) & 0x3F
    b3 = utf8[np.minimum(lead + 3, last)].astype(np.int64) & 0x3F
    two = (first & 0x1F) << 6 | b1
    three = (first & 0x0F) << 12 | b1 << 6 | b2
    four = (first & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
    code_point = np.where(size == 2, two, np.where(size == 3, three, four))
    # Where each character is once the continuation bytes before it are gone.
    skipped = np.cumsum(size - 1) - (size - 1)
    at = lead - skipped
    distinct, which = np.unique(code_point, return_inverse=True)
    classes = np.array([_class_of(c) for c in distinct.tolist()], dtype=np.int64)[which]
    if (classes == _EXPANDS).any():
        return at[classes == _EXPANDS]
    codes[at] = classes
    return None


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every run of True, from the edges of a boolean diff."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1  # the buffer starts and ends with a non-word byte
    return edges[0::2], edges[1::2]


_MIX = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(31)


class PerfectSlots:
    """A collision-free look-up of distinct uint64 keys (hash and displace): ``find`` maps each query to its
    index among the keys, or -1, in a fixed number of numpy passes (no probing loop, no binary search).

    Keys go to buckets of about two by their high bits; each bucket gets a displacement (XOR-ed into a
    second hash) under which its keys land in free slots of a table twice the size of the key set. The
    table keeps each slot's key, so a query that is not a key lands on another key (or none) and misses.
    """

    def __init__(self, keys: np.ndarray, *, mixed: bool = False) -> None:
        keys = np.asarray(keys, dtype=np.uint64)
        n = len(keys)
        self.slot_bits = max(4, (2 * n).bit_length())
        self.bucket_bits = max(1, (n // 2).bit_length())
        # Keys that are hashes already need one multiplication, not a full mix. But a word of up to 8 bytes is
        # its own key, and a multiplication alone can leave two such keys with the same high bits under every
        # salt (b"9_" and b"aabb_" did): then the full mix, which spreads any distinct keys.
        for self.premixed in (True, False) if mixed else (False,):
            placed = self._first_placement(keys)
            if placed is not None:
                self.displacement, self.index = placed
                break
        else:  # pragma: no cover - 64 salts of the full mix all failing on distinct keys does not happen
            raise ValueError("no perfect hash found")
        self.keys = np.zeros(1 << self.slot_bits, dtype=np.uint64)
        self.keys[self.index >= 0] = keys[self.index[self.index >= 0]]
        self._plus_one = self.index + 1

    def _first_placement(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The placement under the first salt where every bucket finds a displacement (the first salt, in
        practice)."""
        for salt in range(64):
            self.offset = np.uint64((2 * salt + 1) * int(_MIX) % (1 << 64))
            placed = self._place(keys)
            if placed is not None:
                return placed
        return None

    def _mixed(self, keys: np.ndarray) -> np.ndarray:
        if self.premixed:
            return keys * self.offset  # odd: a bijection, and each salt reshuffles buckets and bases
        # splitmix64's finalizer: structured keys (bigram ids) spread over every bit.
        z = keys + self.offset
        z = (z ^ (z >> np.uint64(30))) * _MIX2
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> _SHIFT)

    def _buckets_and_bases(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # Both from the high bits (multiply-shift): the low bits of a product see only the low bits of a key.
        z = self._mixed(keys)
        buckets = (z >> np.uint64(64 - self.bucket_bits)).view(np.int64)  # below 2**63: the view is exact
        low = np.uint64((1 << self.slot_bits) - 1)
        bases = (z >> np.uint64(64 - self.bucket_bits - self.slot_bits)) & low
        return buckets, bases.view(np.int64)

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

    def find_plus_one(self, queries: np.ndarray) -> np.ndarray:
        """``find(queries) + 1``: 0 where a query is no key (one pass fewer)."""
        buckets, bases = self._buckets_and_bases(queries)
        slots = bases ^ self.displacement[buckets]
        return np.where(self.keys[slots] == queries, self._plus_one[slots], 0)


_LONG = np.uint64(1 << 63)


def _first_masks(longest: int) -> np.ndarray:
    """Per span length n (0..longest): the mask keeping the span's bytes of one chunk (min(n, 8) bytes)."""
    return np.array([(1 << (8 * min(n, 8))) - 1 for n in range(longest + 1)], dtype=np.uint64)


class WordTable:
    """Exact look-up of byte strings by their bytes read as fixed-width integers: the featurizer's words,
    and the keywords.

    An item of up to 8 bytes is its own key: its bytes read as one ``uint64``, zero-padded (items hold no zero
    byte and no byte above 0x7F, so the key is exact and its top bit is 0). A longer item's key is a hash of
    its chunks and length with the top bit set, checked against the stored item where it matches. Keys go
    into a ``PerfectSlots`` table, so a short span costs a handful of passes and no check. Spans that are
    runs of ``[a-z0-9_]`` (words) need nothing more; other spans (a keyword tried at a word start may run
    into other bytes, or past the last text into the zero padding) ask for a length check of their matches.

    Parameters
    ----------
    items : sequence of bytes
        Distinct strings of bytes 0x01-0x7F.
    """

    def __init__(self, items: Sequence[bytes]) -> None:
        self.max_len = max(map(len, items), default=0)
        self.chunks = max(1, -(-self.max_len // 8))
        self._masks = _first_masks(self.max_len + 1)
        buf = np.frombuffer(b"".join(items) + bytes(PAD), dtype=np.uint8)
        starts = np.zeros(len(items), dtype=np.int64)
        self.lengths = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        if len(items) > 1:
            np.cumsum(self.lengths[:-1], out=starts[1:])
        view64 = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
        # Chunk j of every item (zero where an item is shorter), to check the long words that match.
        self._columns = [self._chunk(view64, starts, self.lengths, j) for j in range(self.chunks)]
        keys = np.zeros(0, dtype=np.uint64)
        for salt in range(64):  # a salt under which the long words' hashes differ (the first, in practice)
            self.mix = _MIX + np.uint64(2 * salt)
            keys = self._keys(view64, starts, self.lengths)[0]
            if len(np.unique(keys)) == len(items):
                break
        else:  # pragma: no cover - 64 salts all colliding on distinct words does not happen
            raise ValueError("no collision-free hash salt found")
        self._slots = PerfectSlots(keys, mixed=True) if len(items) else None

    def _chunk(self, view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray, j: int) -> np.ndarray:
        """Chunk ``j`` (bytes 8j to 8j + 7) of each span, zero-padded; 0 for a span that ends before it."""
        reach = lengths > 8 * j
        return view64[np.where(reach, starts + 8 * j, starts)] & self._masks[np.clip(lengths - 8 * j, 0, 8)]

    def _keys(
        self, view64: np.ndarray, starts: np.ndarray, lengths: np.ndarray, first8: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every span's key, and which spans are longer than 8 bytes (``first8``: the 8 bytes at each start,
        when the caller has read them)."""
        key = (view64[starts] if first8 is None else first8) & self._masks[lengths]
        long = np.flatnonzero(lengths > 8)
        if len(long):
            at = np.arange(len(long))
            span_starts, span_lengths = starts[long], lengths[long]
            h = key[long] * self.mix + span_lengths.view(np.uint64)
            for j in range(1, self.chunks):
                if j > 1:
                    at = at[span_lengths[at] > 8 * j]
                chunk = view64[span_starts[at] + 8 * j] & self._masks[np.minimum(span_lengths[at] - 8 * j, 8)]
                mixed = h[at]
                h[at] = (mixed ^ (mixed >> _SHIFT)) * self.mix + chunk
            key[long] = h | _LONG
        return key, long

    def find_plus_one(
        self,
        view64: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        first8: np.ndarray | None = None,
        *,
        check_lengths: bool = False,
    ) -> np.ndarray:
        """Per span (start, length) of a ``TextBatch`` buffer: its item index + 1, or 0. Spans other than runs
        of ``[a-z0-9_]`` need ``check_lengths`` (see the class docstring)."""
        if self._slots is None:
            return np.zeros(len(starts), dtype=np.int64)
        if len(lengths) and lengths.max() > self.max_len:  # too long for any item: cut, and miss below
            lengths = np.minimum(lengths, self.max_len + 1)
        key, long = self._keys(view64, starts, lengths, first8)
        found = self._slots.find_plus_one(key)
        if check_lengths:
            matched = np.flatnonzero(found)
            found[matched[self.lengths[found[matched] - 1] != lengths[matched]]] = 0
        # A long word's key is a hash: check the word where it matched.
        matched = long[found[long] > 0]
        if len(matched):
            item = found[matched] - 1
            mine_starts, mine_lengths = starts[matched], lengths[matched]
            same = self.lengths[item] == mine_lengths
            for j, column in enumerate(self._columns):
                same &= self._chunk(view64, mine_starts, mine_lengths, j) == column[item]
            found[matched[~same]] = 0
        return found
