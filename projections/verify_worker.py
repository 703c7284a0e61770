"""A verification's worker process on an SQLite log: the leaves of a range of positions
recomputed from the stored rows, answered as the complete subtrees they make.

:mod:`projections.verify` starts two of these (``python -c`` with ``serve()``), each on half
of the positions. This module imports the standard library and :mod:`ledger.merkle` only, so
a worker starts in a few tens of milliseconds (and without ``site``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import sys
from collections.abc import Collection
from typing import Any

from ledger import merkle


def sqlite_span(
    path: str, table: str, start: int, end: int, marks: Collection[int] = ()
) -> tuple[merkle.Span, dict[int, merkle.Span]] | None:
    """The leaves ``[start, end)`` of the log kept in table ``table`` of the SQLite database
    at ``path`` (its events at positions ``start + 1`` … ``end``), recomputed from the stored
    rows on a connection of its own, as a :class:`ledger.merkle.Span`, with the span as it
    stood at each end in ``marks``; None when those positions do not run without a gap.

    Each leaf is :class:`ledger.merkle.LeafHasher`'s work inlined (this loop is what a
    verification of a long log spends its time on, split between processes by
    :mod:`projections.verify`); the canonical id of an id stored as its 16 bytes is made
    straight from their hex."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA query_only = 1")
        connection.execute("BEGIN")  # one snapshot for the count and the rows
        quoted = '"' + table.replace('"', '""') + '"'
        where = f"FROM {quoted} WHERE id > {int(start)} AND id <= {int(end)}"
        (count,) = connection.execute(f"SELECT count(*) {where}").fetchone()
        if count != end - start:
            return None
        rows = connection.execute(
            f"SELECT id, originator_id, originator_version, topic, state {where} ORDER BY id"
        )
        ids: dict[Any, bytes] = {}
        topics: dict[str, bytes] = {}
        leaves: list[bytes] = []
        append = leaves.append
        b64, sha256, leaf_format = base64.b64encode, hashlib.sha256, b"\x00" + merkle.LEAF_DATA
        for position, originator_id, version, topic, state in rows:
            oid = ids.get(originator_id)
            if oid is None:
                if len(ids) > 100_000:
                    ids.clear()
                if type(originator_id) is bytes and len(originator_id) == 16:
                    h = originator_id.hex()  # canonical_id's text, made faster
                    oid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}".encode()
                else:
                    oid = merkle.canonical_id(originator_id)
                ids[originator_id] = oid
            topic_json = topics.get(topic)
            if topic_json is None:
                topic_json = topics[topic] = merkle.topic_json_of(topic)
            append(sha256(leaf_format % (oid, version, position, b64(state), topic_json)).digest())
        rows.close()
        connection.execute("COMMIT")
    finally:
        connection.close()
    span = merkle.Span(start)
    taken = span.extend(leaves, marks)
    return span, taken


def serve() -> None:
    """:func:`sqlite_span` as a worker process: the request as one JSON object on stdin,
    the answer as one on stdout (the hashes in hex)."""
    asked = json.loads(sys.stdin.buffer.read())
    done = sqlite_span(
        asked["path"], asked["table"], asked["start"], asked["end"], frozenset(asked["marks"])
    )
    answer: dict[str, Any] = {"gap": True}
    if done is not None:
        span, taken = done
        answer = {
            "end": span.end,
            "hashes": [h.hex() for h in span.hashes],
            "marks": {str(at): [h.hex() for h in part.hashes] for at, part in taken.items()},
        }
    sys.stdout.write(json.dumps(answer))
