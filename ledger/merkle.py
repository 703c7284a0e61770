"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0, §2.1) over the event log.

Leaf ``i`` of the tree is the stored event at global position ``i + 1`` (positions start at
1). Its data is the canonical JSON of the stored event (keys sorted, no spaces):

    {"originator_id": "<lowercase hyphenated UUID>", "originator_version": <int>,
     "position": <int>, "state": "<standard base64 of the state bytes as stored>",
     "topic": "<topic>"}

leaf hash = SHA-256(0x00 ‖ data), interior node = SHA-256(0x01 ‖ left ‖ right); the root of
the empty tree is SHA-256 of nothing. Proofs and their verification are RFC 9162's
§2.1.3 (inclusion) and §2.1.4 (consistency), written as the RFC gives them.

Trees are read through ``subtree(start, end)``: the hash of the leaves ``[start, end)``,
which the stored tree answers from its complete aligned subtrees (see :func:`range_hash`).
A tree can also be made in parts, each part's leaves hashed apart and the parts joined
(:class:`Span`).

Nothing here touches a database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from uuid import UUID

EMPTY_ROOT = hashlib.sha256(b"").digest()

#: ``subtree(start, end)``: the Merkle tree hash of leaves ``[start, end)``.
Subtree = Callable[[int, int], bytes]


#: the leaf data, its five values to fill in: the canonical id, the version, the position,
#: the base64 of the state and the topic as a JSON string
LEAF_DATA = b'{"originator_id":"%s","originator_version":%d,"position":%d,"state":"%s","topic":%s}'


def leaf_data(
    originator_id: UUID | str | bytes,
    originator_version: int,
    position: int,
    state: bytes | memoryview,
    topic: str,
) -> bytes:
    """The canonical bytes of one stored event, as hashed into its leaf."""
    return LEAF_DATA % (
        canonical_id(originator_id),
        int(originator_version),
        int(position),
        base64.b64encode(state),
        topic_json_of(topic),
    )


def canonical_id(originator_id: UUID | str | bytes | memoryview) -> bytes:
    """The canonical (lowercase, hyphenated) UUID text of an id as a driver gives it: a
    UUID, its text (PostgreSQL) or its 16 bytes (SQLite)."""
    if isinstance(originator_id, bytes | bytearray | memoryview):
        return str(UUID(bytes=bytes(originator_id))).encode()
    return str(originator_id if isinstance(originator_id, UUID) else UUID(originator_id)).encode()


def topic_json_of(topic: str) -> bytes:
    """The topic as the leaf data writes it: a JSON string (UTF-8, not ASCII-escaped)."""
    return (
        json.dumps(topic, ensure_ascii=False) if _needs_escape(topic) else f'"{topic}"'
    ).encode()


def _needs_escape(text: str) -> bool:
    return not text.isascii() or not text.isprintable() or '"' in text or "\\" in text


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf_hash(
    originator_id: UUID | str | bytes,
    originator_version: int,
    position: int,
    state: bytes,
    topic: str,
) -> bytes:
    """The leaf hash of one stored event."""
    return leaf_hash(leaf_data(originator_id, originator_version, position, state, topic))


class LeafHasher:
    """:func:`event_leaf_hash` for a long run of events (verification, export, import):
    the same bytes, made with one bytes format per event and the repeated ids and topics
    turned into their JSON once."""

    __slots__ = ("_ids", "_topics")

    def __init__(self) -> None:
        self._ids: dict[object, bytes] = {}
        self._topics: dict[str, bytes] = {}

    def canonical_id(self, originator_id: UUID | str | bytes | memoryview) -> bytes:
        """:func:`canonical_id`, each distinct id made once."""
        key = bytes(originator_id) if isinstance(originator_id, memoryview) else originator_id
        found = self._ids.get(key)
        if found is None:
            if len(self._ids) > 100_000:
                self._ids.clear()
            found = self._ids[key] = canonical_id(key)
        return found

    def data(
        self,
        originator_id: UUID | str | bytes | memoryview,
        originator_version: int,
        position: int,
        state: bytes | memoryview,
        topic: str,
    ) -> bytes:
        return self.encoded_data(
            originator_id, originator_version, position, base64.b64encode(state), topic
        )

    def encoded_data(
        self,
        originator_id: UUID | str | bytes | memoryview,
        originator_version: int,
        position: int,
        state_base64: bytes,
        topic: str,
    ) -> bytes:
        """:meth:`data` of a state given already in standard base64."""
        topic_json = self._topics.get(topic)
        if topic_json is None:
            topic_json = self._topics[topic] = topic_json_of(topic)
        return LEAF_DATA % (
            self.canonical_id(originator_id),
            originator_version,
            position,
            state_base64,
            topic_json,
        )

    def __call__(
        self,
        originator_id: UUID | str | bytes | memoryview,
        originator_version: int,
        position: int,
        state: bytes | memoryview,
        topic: str,
    ) -> bytes:
        return hashlib.sha256(
            b"\x00" + self.data(originator_id, originator_version, position, state, topic)
        ).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (in memory, for small trees and tests)."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier.append(leaf)
    return frontier.root()


def range_hash(start: int, end: int, node: Callable[[int, int], bytes]) -> bytes:
    """MTH of leaves ``[start, end)`` from complete aligned subtrees: ``node(level, index)``
    is the hash of leaves ``[index·2^level, (index+1)·2^level)``. Every range a proof visits
    begins at a multiple of the smallest power of two not below its size; such a range is
    its complete subtrees, largest first, folded from the right. Other ranges are refused."""
    if end <= start:
        return EMPTY_ROOT
    span = 1 << (end - start - 1).bit_length()
    if start % span:
        raise ValueError(f"leaves [{start}, {end}) are not a subtree of any tree")
    parts = [node(level, index) for level, index in _edge(start, end)]
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = node_hash(part, result)
    return result


def _edge(start: int, end: int) -> list[tuple[int, int]]:
    """The complete aligned subtrees of ``[start, end)`` (``start`` aligned), largest first."""
    nodes, at, size = [], start, end - start
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            nodes.append((level, at >> level))
            at += 1 << level
    return nodes


class Frontier:
    """The right edge of a growing tree: one complete subtree per set bit of its size.

    ``append`` adds a leaf and returns the complete subtrees it finished, as
    ``(level, index, hash)`` with level 0 for the leaf itself, so a store can keep every
    complete aligned subtree and answer any :func:`range_hash` from them."""

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        #: the complete subtrees of the size's binary decomposition, largest (leftmost) first
        self.hashes = list(hashes)
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} edge nodes")

    @staticmethod
    def edge(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` of the complete subtrees on the right edge of a tree of
        ``size`` leaves, largest first."""
        return _edge(0, size)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        made = [(0, index, leaf)]
        current, level = leaf, 0
        while index & 1:  # the new subtree completes its left sibling's parent
            current = node_hash(self.hashes.pop(), current)
            index >>= 1
            level += 1
            made.append((level, index, current))
        self.hashes.append(current)
        self.size += 1
        return made

    def push(self, leaf: bytes) -> None:
        """``append`` without reporting the subtrees made (for a verifying pass)."""
        hashes = self.hashes
        self.size += 1
        size = self.size
        while not size & 1:
            leaf = hashlib.sha256(b"\x01" + hashes.pop() + leaf).digest()
            size >>= 1
        hashes.append(leaf)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for part in reversed(self.hashes[:-1]):
            result = node_hash(part, result)
        return result


def blocks(start: int, end: int) -> list[tuple[int, int]]:
    """The complete aligned subtrees that leaves ``[start, end)`` are made of when each is as
    large as it can be, left to right, as ``(level, index)``: the ones a :class:`Span` holds."""
    nodes, at = [], start
    while at < end:
        level = (end - at).bit_length() - 1
        if at:
            level = min(level, (at & -at).bit_length() - 1)
        nodes.append((level, at >> level))
        at += 1 << level
    return nodes


def subtree_hash(leaves: Sequence[bytes]) -> bytes:
    """The hash of the complete tree of ``leaves`` (leaf hashes, a power of two of them),
    made one level at a time."""
    level, sha256, one = list(leaves), hashlib.sha256, b"\x01"
    while len(level) > 1:
        pairs = zip(level[0::2], level[1::2], strict=True)
        level = [sha256(b"".join((one, left, right))).digest() for left, right in pairs]
    return level[0]


class Span:
    """Leaves ``[start, end)`` of a tree as the complete aligned subtrees they make
    (:func:`blocks`), two siblings merged into their parent as soon as both are in.

    From the first leaf this is the :class:`Frontier` (its :meth:`root` is the tree's root);
    a span of later leaves, hashed apart (in another process, say), is added to the span
    that ends where it begins by :meth:`join`, which gives the span of both."""

    __slots__ = ("start", "end", "hashes")

    def __init__(self, start: int = 0, end: int | None = None, hashes: Iterable[bytes] = ()):
        self.start = start
        self.end = start if end is None else end
        self.hashes = list(hashes)
        if self.end < start or len(self.hashes) != len(blocks(start, self.end)):
            raise ValueError(f"leaves [{start}, {self.end}) are not {len(self.hashes)} subtrees")

    def push(self, node: bytes, level: int = 0) -> None:
        """Add the leaf (or the complete subtree of ``2**level`` leaves) at the span's end."""
        if self.end & ((1 << level) - 1):
            raise ValueError(f"no subtree of 2**{level} leaves begins at leaf {self.end}")
        hashes, start = self.hashes, self.start
        index = self.end >> level
        self.end += 1 << level
        while index & 1 and (index ^ 1) << level >= start:  # its left sibling is complete
            node = hashlib.sha256(b"\x01" + hashes.pop() + node).digest()
            index >>= 1
            level += 1
        hashes.append(node)

    def extend(self, leaves: Sequence[bytes], marks: Collection[int] = ()) -> dict[int, Span]:
        """Add ``leaves`` (leaf hashes), one after the other; answer the span as it stood at
        each end in ``marks`` that it passed (for the roots at those sizes). Each complete
        aligned subtree they fill is hashed level by level (:func:`subtree_hash`)."""
        first, end = self.end, self.end + len(leaves)
        cuts = sorted({at for at in marks if first < at < end} | ({end} - {first}))
        taken: dict[int, Span] = {}
        for cut in cuts:
            for level, index in blocks(self.end, cut):
                at = (index << level) - first
                self.push(subtree_hash(leaves[at : at + (1 << level)]), level)
            if cut in marks:
                taken[cut] = Span(self.start, self.end, self.hashes)
        return taken

    def join(self, other: Span) -> Span:
        """The span of this one's leaves and then ``other``'s (which begins where it ends)."""
        if other.start != self.end:
            raise ValueError(f"a span from leaf {other.start} does not follow one to {self.end}")
        joined = Span(self.start, self.end, self.hashes)
        for (level, _), node in zip(blocks(other.start, other.end), other.hashes, strict=True):
            joined.push(node, level)
        return joined

    def root(self) -> bytes:
        """The root of the tree of the span's leaves (a span from the first leaf)."""
        if self.start:
            raise ValueError("only a span from the first leaf is a whole tree")
        return Frontier(self.end, self.hashes).root()


# -- proofs (RFC 9162 §2.1.3.1 and §2.1.4.1) --------------------------------------------------


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(m, D[n]): the consistency proof between the trees of ``first`` and ``second``
    leaves (0 < first ≤ second)."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof between sizes {first} and {second}")
    return _subproof(first, 0, second, True, subtree)


def _subproof(m: int, start: int, end: int, complete: bool, subtree: Subtree) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [subtree(start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(m, start, start + k, complete, subtree) + [subtree(start + k, end)]
    return _subproof(m - k, start + k, end, False, subtree) + [subtree(start, start + k)]


# -- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -----------------------------------------


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    if first > second or first == 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
