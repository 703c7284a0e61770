"""The RFC 9162 algorithms of ``ledger.merkle`` against a naive recursive reading of the RFC,
for every tree size 1..70 and every leaf (and every pair of sizes for consistency)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from ledger import merkle

SIZES = range(1, 71)
LEAVES = [hashlib.sha256(b"\x00" + f"leaf {i}".encode()).digest() for i in range(70)]


# -- a naive implementation, written from RFC 9162 §2.1 without looking at ledger.merkle ----


def naive_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, leaves[:k], b) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


def subtree_of(leaves: list[bytes]) -> merkle.Subtree:
    return lambda start, end: naive_mth(leaves[start:end])


# -- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_roots_equal_the_naive_roots(size: int) -> None:
    assert merkle.root(LEAVES[:size]) == naive_mth(LEAVES[:size])


def test_the_empty_tree_has_the_hash_of_nothing() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_equal_the_naive_paths_and_verify(size: int) -> None:
    leaves = LEAVES[:size]
    root = naive_mth(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, subtree_of(leaves))
        assert proof == naive_path(index, leaves)
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
        other = LEAVES[(index + 1) % size] if size > 1 else b"\x00" * 32
        assert not merkle.verify_inclusion(index, size, other, proof, root)
        if proof:
            assert not merkle.verify_inclusion(index, size, leaves[index], proof[:-1], root)


@pytest.mark.parametrize("second", SIZES)
def test_consistency_proofs_equal_the_naive_proofs_and_verify(second: int) -> None:
    leaves = LEAVES[:second]
    second_root = naive_mth(leaves)
    for first in range(1, second + 1):
        first_root = naive_mth(leaves[:first])
        proof = merkle.consistency_proof(first, second, subtree_of(leaves))
        assert proof == naive_subproof(first, leaves, True)
        assert merkle.verify_consistency(first, second, first_root, second_root, proof)
        if first < second:
            forged = hashlib.sha256(b"another history").digest()
            assert not merkle.verify_consistency(first, second, forged, second_root, proof)
            assert not merkle.verify_consistency(first, second, first_root, forged, proof)
            assert not merkle.verify_consistency(first, second, first_root, second_root, [])


@pytest.mark.parametrize("size", SIZES)
def test_range_hashes_from_stored_subtrees_equal_the_naive_hashes(size: int) -> None:
    nodes: dict[tuple[int, int], bytes] = {}
    frontier = merkle.Frontier()
    for leaf in LEAVES[:size]:
        for level, index, digest in frontier.append(leaf):
            nodes[level, index] = digest
    assert frontier.root() == naive_mth(LEAVES[:size])
    edge = [nodes[key] for key in merkle.Frontier.edge(size)]
    assert merkle.Frontier(size, edge).root() == frontier.root()
    node = lambda level, index: nodes[level, index]  # noqa: E731
    for start in range(size):
        for end in range(start + 1, size + 1):
            if start % (1 << (end - start - 1).bit_length()) == 0:  # a range proofs visit
                assert merkle.range_hash(start, end, node) == naive_mth(LEAVES[start:end])
            else:
                with pytest.raises(ValueError, match="not a subtree"):
                    merkle.range_hash(start, end, node)


def test_leaf_data_is_the_canonical_json_of_the_stored_event() -> None:
    originator = uuid.UUID("6f1c2a3b-0000-4000-8000-00000000abcd")
    data = merkle.leaf_data(originator.bytes, 3, 17, b'{"a":"\xc3\xa1"}', "ledger.x:Y.Z")
    assert data == (
        b'{"originator_id":"6f1c2a3b-0000-4000-8000-00000000abcd","originator_version":3,'
        b'"position":17,"state":"eyJhIjoiw6EifQ==","topic":"ledger.x:Y.Z"}'
    )
    upper = str(originator).upper()
    assert merkle.leaf_data(upper, 3, 17, b'{"a":"\xc3\xa1"}', "ledger.x:Y.Z") == data
    assert merkle.event_leaf_hash(originator, 3, 17, b'{"a":"\xc3\xa1"}', "ledger.x:Y.Z") == (
        hashlib.sha256(b"\x00" + data).digest()
    )


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 9, 70])
def test_pushing_leaves_gives_the_same_roots_as_appending_them(size: int) -> None:
    pushed = merkle.Frontier()
    for leaf in LEAVES[:size]:
        pushed.push(leaf)
    assert pushed.root() == naive_mth(LEAVES[:size])
    assert pushed.size == size


def test_the_leaf_hasher_makes_the_same_leaves_as_the_canonical_encoding() -> None:
    hasher = merkle.LeafHasher()
    for n in range(50):
        originator = uuid.uuid4()
        state = f'{{"n":{n},"tên":"Hà Nội \\ \\"x\\""}}'.encode()
        topic = "ledger.support_application:SupportApplication.Approved"
        expected = merkle.event_leaf_hash(originator, n + 1, n + 10, state, topic)
        for given in (originator, str(originator), originator.bytes, memoryview(originator.bytes)):
            assert hasher(given, n + 1, n + 10, memoryview(state), topic) == expected
    odd_topic = 'a"b\\c\ttên'
    assert hasher(originator, 1, 1, b"{}", odd_topic) == merkle.event_leaf_hash(
        originator, 1, 1, b"{}", odd_topic
    )
