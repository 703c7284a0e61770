"""Verify the event log against its Merkle tree and every checkpoint.

Every leaf is recomputed from the events table as it is stored now. One pass over the
table gives the log's roots at the tree's size and at each checkpoint's size; when the root
at the tree's size is the stored tree's root (and the positions run without a gap), every
leaf is what the tree recorded, and there is nothing to look for. Otherwise a second pass
walks the table beside the tree's leaves, position by position, and names what happened at
each bad position (:mod:`ledger.verification` lists the kinds).

The tree is first brought up to the head of the log, so events appended since it last
folded are in it: appending is what the log allows. What a tree or a checkpoint proves is
that nothing it holds was changed, removed, inserted or moved since.

The pass over the table is the verification's cost, and it is split two ways:

- On PostgreSQL the server computes each leaf hash (:data:`SERVER_LEAF`: the leaf data of
  :data:`ledger.merkle.LEAF_DATA` built in SQL, hashed with ``pg_catalog.sha256``) and sends
  32 bytes per event, the leaves of each run of :data:`CHUNK` positions in one value; here
  they are folded into the tree. Two connections share the work, the second one reading the
  first one's snapshot (``pg_export_snapshot``), so both read the one log the tree is
  compared with, up to the last position that snapshot holds.

  Trusting the server's ``sha256`` adds no trust beyond what reading the log from it
  already takes: a verification in the database trusts the server to hand over the bytes it
  stores (a server that lies could as well hand over the untampered bytes it kept aside), and
  a server that lied about a hash would be caught by the same things that catch a server
  lying about bytes: the signed checkpoints the inspectors hold, and the offline verifier
  (``ledger verify --offline``, :func:`ledger.event_log.verify_file`), which recomputes every
  leaf from an exported file with no server at all. The leaf data built in SQL is the same
  bytes as ``ledger.merkle`` builds (the tests compare them, for topics holding quotes,
  backslashes, control characters and non-ASCII text), so a stored event hashes the same
  on the server, here and offline.
- On SQLite two worker processes each recompute half of the positions, on a connection of
  their own to the same file (:func:`projections.verify_worker.sqlite_span`), up to the last
  position the verification's transaction holds, and answer the complete subtrees of their
  half (:class:`ledger.merkle.Span`); here the halves are joined. The workers are new
  interpreters (fork and exec: safe in a threaded server, and cheap, as they import only
  :mod:`projections.verify_worker` and :mod:`ledger.merkle`; ``multiprocessing``'s spawn and
  forkserver import the main module again, about a second). Their transactions are not the
  verification's (SQLite cannot share one), but the rows up to that position are the same in
  both unless someone rewrites them in between: the append-only triggers refuse that, and a
  tamperer who drops them races with any verification anyway. A log shorter than
  :data:`PROCESSES_FROM` events, a database that is not a file, a machine with one
  processor, or a log whose positions do not run 1, 2, 3, … is recomputed here.

Both fast paths are for a log whose positions run without a gap; any other log (one with
holes recorded by ``ledger db record-gaps``, or not) is read event by event here
(:func:`_leaves_by_cursor`), which makes a recorded hole's leaf from its record
(:mod:`ledger.log_gaps`) and finds the first position the log skips unrecorded.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger import log_gaps, merkle
from ledger.checkpoint import Checkpoint
from ledger.event_log import FETCH, stored_events
from ledger.service import Ledger
from ledger.verification import Problems, Verification, check_checkpoints
from projections import checkpoints as kept
from projections.merkle import LEAVES
from projections.merkle import NAME as TREE
from projections.merkle import root as stored_root
from projections.parallel import cores
from projections.projector import Projector

log = logging.getLogger(__name__)


def verify(
    projector: Projector, given: Sequence[Checkpoint] = (), public_key: bytes | None = None
) -> Verification:
    """Recompute every leaf from the events table; compare with the stored tree, the stored
    checkpoints and the ``given`` ones (signatures checked with ``public_key``)."""
    kept.catch_up_tree(projector)  # a log it cannot fold is what is looked into here
    with projector.reading(TREE) as (connection, tables, size):
        every = [*kept.listed(connection), *given]
        wanted = {c.tree_size for c in every} | {size}
        scanned, roots, gap = _recompute(projector.ledger, connection, wanted)
        problems = Problems()
        tree_root = stored_root(connection, tables, size) if size else merkle.EMPTY_ROOT
        if gap is not None or roots.get(size) != tree_root:
            _classify(projector.ledger, connection, tables, size, problems)
            if not problems.found:
                problems.add(
                    "altered",
                    None,
                    None,
                    "the stored tree's inner nodes do not match its leaves; the log matches "
                    "the leaves (rebuild the merkle projection)",
                )
        first_bad = min((p.position for p in problems.found if p.position), default=None)
        check_checkpoints(problems, every, roots, scanned, public_key, first_bad)
    return Verification(scanned, roots[scanned].hex(), problems.listed())


def _recompute(
    ledger: Ledger, connection: Connection, sizes: set[int]
) -> tuple[int, dict[int, bytes], int | None]:
    """One pass: how many events there are, the log's root at each of ``sizes`` (and at the
    end), and the first position the log skips (None if none)."""
    if connection.dialect.name == "postgresql":
        done = _recompute_on_server(ledger, connection, sizes)
    else:
        done = _recompute_in_workers(ledger, connection, sizes)
    if done is not None:
        return done
    tree = _Recomputed(sizes)
    _leaves_by_cursor(ledger, connection, tree.take)
    tree.roots[tree.count] = tree.frontier.root()
    return tree.count, tree.roots, tree.gap


class _Recomputed:
    """The log's tree as its recomputed leaves arrive, batch by batch, in position order."""

    def __init__(self, sizes: set[int]) -> None:
        self.sizes = sizes
        self.frontier = merkle.Frontier()
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
        self.count = 0
        self.gap: int | None = None

    def take(self, leaves: list[tuple[int, bytes]]) -> None:
        push, sizes, count = self.frontier.push, self.sizes, self.count
        for position, leaf in leaves:
            count += 1
            if position != count and self.gap is None:
                self.gap = count
            push(leaf)
            if count in sizes:
                self.roots[count] = self.frontier.root()
        self.count = count


Take = Callable[[list[tuple[int, bytes]]], None]


def _leaves_by_cursor(ledger: Ledger, connection: Connection, take: Take) -> None:
    """Leaves made here from each stored row: :class:`ledger.merkle.LeafHasher`'s work
    inlined, with its caches of ids and topics (one bytes format and one hash a row)."""
    ids: dict[Any, bytes] = {}
    topics: dict[str, bytes] = {}
    b64, sha256 = base64.b64encode, hashlib.sha256
    batch: list[tuple[int, bytes]] = []
    for entry in log_gaps.merged(
        stored_events(connection, ledger.events_table), log_gaps.recorded(connection)
    ):
        if isinstance(entry, log_gaps.RecordedGap):
            batch.append((entry.position, entry.leaf_hash()))
            continue
        position, originator_id, version, topic, state = entry
        oid = ids.get(originator_id)
        if oid is None:
            if len(ids) > 100_000:
                ids.clear()
            oid = ids[originator_id] = merkle.canonical_id(originator_id)
        topic_json = topics.get(topic)
        if topic_json is None:
            topic_json = topics[topic] = merkle.topic_json_of(topic)
        data = LEAF % (oid, version, position, b64(state), topic_json)
        batch.append((position, sha256(data).digest()))
        if len(batch) == FETCH:
            take(batch)
            batch = []
    take(batch)


#: ``0x00 ‖ leaf data`` with its five values to fill in (``ledger.merkle.LEAF_DATA``)
LEAF = b"\x00" + merkle.LEAF_DATA


# -- PostgreSQL: the server hashes ------------------------------------------------------------

#: the leaf hash of a row of the events table, computed by PostgreSQL: SHA-256 of 0x00 and
#: the leaf data of ``ledger.merkle.LEAF_DATA``. A ``uuid``'s text is the canonical one (the
#: cast costs nothing on the ``uuid`` column); ``to_json`` escapes a text as
#: ``json.dumps(ensure_ascii=False)`` does (``"``, ``\`` and the characters below U+0020,
#: nothing else); ``encode(…, 'base64')`` breaks lines, which ``replace`` takes out
#: (``translate`` costs more). Functions are named with their schema, so that no function
#: of the search path stands in for one.
SERVER_LEAF = (
    "pg_catalog.sha256(pg_catalog.decode('00', 'hex') || pg_catalog.convert_to("
    """'{"originator_id":"' || originator_id::uuid::text"""
    """ || '","originator_version":' || originator_version"""
    """ || ',"position":' || id"""
    """ || ',"state":"' || pg_catalog.replace(pg_catalog.encode(state, 'base64'), E'\\n', '')"""
    """ || '","topic":' || pg_catalog.to_json(topic)::text || '}', 'UTF8'))"""
)
#: positions whose leaves come in one value (and one query)
CHUNK = 16_384
#: connections that compute leaves at once (each a server process)
CONNECTIONS = 2


def _recompute_on_server(
    ledger: Ledger, connection: Connection, sizes: set[int]
) -> tuple[int, dict[int, bytes], None] | None:
    """The pass over a log whose positions run 1, 2, 3, … with the leaves hashed by the
    server; None when they do not (or the database's text is not UTF-8)."""
    table = connection.dialect.identifier_preparer.quote(ledger.events_table.name)
    if connection.exec_driver_sql("SHOW server_encoding").scalar() != "UTF8":
        return None
    first, last = connection.exec_driver_sql(
        f"SELECT pg_catalog.min(id), pg_catalog.max(id) FROM {table}"
    ).one()
    if last is None:
        return 0, {0: merkle.EMPTY_ROOT}, None
    if first != 1:
        return None
    chunks = [(low, min(low + CHUNK, last + 1)) for low in range(1, last + 1, CHUNK)]
    copies = [
        f"COPY (SELECT {SERVER_LEAF} FROM {table} WHERE id >= {low} AND id < {high} ORDER BY id)"
        " TO STDOUT (FORMAT binary)"
        for low, high in chunks
    ]
    span = merkle.Span()
    roots = {0: merkle.EMPTY_ROOT}
    with contextlib.closing(_on_server(connection, copies)) as copied:
        for (low, high), data in zip(chunks, copied, strict=True):
            leaves = _copied_leaves(data, high - low)
            if leaves is None:
                return None  # a gap: read here, to find it
            for size, part in span.extend(leaves, sizes).items():
                roots[size] = part.root()
    roots[last] = span.root()
    return last, roots, None


#: COPY's binary format: its header, each row's (one field of 32 bytes) and its trailer
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_ROW = b"\x00\x01\x00\x00\x00\x20"
_COPY_TRAILER = b"\xff\xff"


def _copied_leaves(data: bytes, count: int) -> list[bytes] | None:
    """The 32-byte leaves of a binary COPY of ``count`` rows; None if it holds another count
    (every row being 38 bytes, the length tells)."""
    row = len(_COPY_ROW) + 32
    if len(data) != len(_COPY_HEADER) + count * row + len(_COPY_TRAILER):
        return None
    if not (data.startswith(_COPY_HEADER) and data.endswith(_COPY_TRAILER)):
        raise ValueError("the server's COPY is not in the binary format this reads")
    first = len(_COPY_HEADER) + len(_COPY_ROW)
    return [data[at : at + 32] for at in range(first, first + count * row, row)]


def _on_server(connection: Connection, copies: list[str]) -> Generator[bytes, None, None]:
    """What each of ``copies`` (COPY … TO STDOUT) writes, in order: run on ``connection``
    and (when it reads one snapshot, as a verification does) on more connections importing
    that snapshot, each one taking every other COPY, in threads of their own while the
    chunks are folded here."""
    isolation = connection.get_isolation_level()
    together = CONNECTIONS if isolation in ("REPEATABLE READ", "SERIALIZABLE") else 1
    together = max(1, min(together, len(copies)))
    snapshot = None
    if together > 1:
        snapshot = connection.exec_driver_sql("SELECT pg_catalog.pg_export_snapshot()").scalar()
    with contextlib.ExitStack() as stack:
        raws: list[Any] = [connection.connection.dbapi_connection]
        for _ in range(together - 1):
            other = stack.enter_context(connection.engine.connect())
            other = other.execution_options(isolation_level=isolation)
            stack.enter_context(other.begin())
            other.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            raws.append(other.connection.dbapi_connection)
        results: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in raws]
        stop = threading.Event()

        def run(each: int) -> None:
            try:
                cursor = raws[each].cursor()
                try:
                    # a plan of one process each: the processors are the connections'
                    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
                    for copy in copies[each :: len(raws)]:
                        if stop.is_set():
                            break
                        out = io.BytesIO()
                        cursor.copy_expert(copy, out)
                        results[each].put(out.getvalue())
                finally:
                    cursor.close()
            except BaseException as error:  # handed over, raised where the chunks are read
                results[each].put(error)

        threads = [
            threading.Thread(target=run, args=(each,), daemon=True) for each in range(len(raws))
        ]
        for thread in threads:
            thread.start()
        try:
            for at in range(len(copies)):
                data = results[at % len(raws)].get()
                if isinstance(data, BaseException):
                    raise data
                yield data
        finally:
            stop.set()
            for thread in threads:
                thread.join()


# -- SQLite: worker processes ------------------------------------------------------------------

#: logs at least this long are recomputed in worker processes
PROCESSES_FROM = 20_000
#: worker processes for one verification
PROCESSES = 2
#: a worker: a new interpreter that imports ``projections.verify_worker`` (and the standard
#: library) only, found where this process found it; without ``site``, it starts faster
_WORKER = ("-P", "-S", "-c", "from projections.verify_worker import serve; serve()")


def _recompute_in_workers(
    ledger: Ledger, connection: Connection, sizes: set[int]
) -> tuple[int, dict[int, bytes], None] | None:
    """The pass over a log kept in an SQLite file, its positions running 1, 2, 3, …, split
    between :data:`PROCESSES` worker processes; None for a shorter log, a database that is
    not a file, positions with a gap, or a worker that failed (then it is read here)."""
    path = _database_file(connection)
    if not path or not sys.executable or PROCESSES < 2 or cores() < 2:
        return None
    table = ledger.events_table.name
    count, first, last = connection.exec_driver_sql(
        f'SELECT count(*), min(id), max(id) FROM "{table}"'
    ).one()
    if count < max(PROCESSES_FROM, PROCESSES) or first != 1 or last != count:
        return None
    cuts = [count * part // PROCESSES for part in range(PROCESSES + 1)]
    here = str(Path(__file__).resolve().parents[1])  # the worker's package, not installed
    paths = [here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with contextlib.ExitStack() as stack:
        workers: list[tuple[subprocess.Popen[bytes], bytes]] = []
        for start, end in itertools.pairwise(cuts):
            worker = stack.enter_context(
                subprocess.Popen(
                    [sys.executable, *_WORKER],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=environment,
                )
            )
            stack.callback(_stop, worker)
            request = {
                "path": path,
                "table": table,
                "start": start,
                "end": end,
                "marks": sorted(s for s in sizes if start < s < end),
            }
            workers.append((worker, json.dumps(request).encode()))
        with ThreadPoolExecutor(len(workers)) as talks:  # each one its request, at once
            answers = list(talks.map(lambda each: each[0].communicate(each[1]), workers))
        span = merkle.Span()
        roots = {0: merkle.EMPTY_ROOT}
        for (worker, _), (out, err) in zip(workers, answers, strict=True):
            if worker.returncode != 0:
                log.warning("a verification worker failed; reading here: %s", err.decode()[-2000:])
                return None
            answer = json.loads(out)
            if answer.get("gap"):
                return None
            for at, hashes in answer["marks"].items():
                part = merkle.Span(span.end, int(at), map(bytes.fromhex, hashes))
                roots[int(at)] = span.join(part).root()
            span = span.join(
                merkle.Span(span.end, answer["end"], map(bytes.fromhex, answer["hashes"]))
            )
            if span.end in sizes or span.end == count:
                roots[span.end] = span.root()
    return count, roots, None


def _database_file(connection: Connection) -> str:
    """The file of the main database ('' for one in memory)."""
    raw: Any = connection.connection.dbapi_connection
    for _, name, file in raw.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file or "")
    return ""


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.wait()


def _classify(
    ledger: Ledger, connection: Connection, tables: dict[str, Table], size: int, problems: Problems
) -> None:
    """Walk the log beside the tree's leaves and name what is wrong at each position."""
    leaves = tables[LEAVES.name]
    hasher = merkle.LeafHasher()
    tree_keys: dict[tuple[str, int], int] | None = None
    log_keys: dict[tuple[str, int], int] | None = None

    def in_tree(key: tuple[str, int]) -> int | None:
        nonlocal tree_keys
        if tree_keys is None:
            query = select(leaves.c.originator_id, leaves.c.originator_version, leaves.c.position)
            tree_keys = {(o, int(v)): int(p) for o, v, p in connection.execute(query)}
        return tree_keys.get(key)

    def in_log(key: tuple[str, int]) -> int | None:
        nonlocal log_keys
        if log_keys is None:
            log_keys = {
                (hasher.canonical_id(o).decode(), int(v)): int(p)
                for p, o, v, _, _ in stored_events(connection, ledger.events_table)
            }
        return log_keys.get(key)

    tree = connection.execute(
        select(
            leaves.c.position,
            leaves.c.originator_id,
            leaves.c.originator_version,
            leaves.c.leaf_hash,
        ).order_by(leaves.c.position)
    ).all()
    stored = {int(p): (o, int(v), h) for p, o, v, h in tree}
    gaps = {gap.position: gap for gap in log_gaps.recorded(connection)}
    events = stored_events(connection, ledger.events_table)
    event = next(events, None)
    last = max(size, 0)
    position = 0
    while not problems.full:
        position += 1
        while event is not None and event[0] < position:
            event = next(events, None)  # a duplicate position cannot be stored; defensive
        here = event if event is not None and event[0] == position else None
        leaf = stored.get(position)
        gap = gaps.get(position)
        if gap is not None and here is None:
            if leaf is not None and leaf[2] != gap.leaf_hash().hex():
                problems.add(
                    "altered",
                    position,
                    None,
                    f"the hole recorded at this position gives leaf {gap.leaf_hash().hex()}, "
                    f"the tree recorded {leaf[2]}",
                )
            continue
        if here is None and leaf is None:
            if event is None and position > last:
                break
            problems.add(
                "missing",
                position,
                None,
                "the log skips this position and no hole is recorded there: an event deleted, "
                "or a hole a failed write left before migration 0005 (`ledger db record-gaps` "
                "records a hole that never held an event)",
            )
            continue
        if here is not None:
            event = next(events, None)
            key = (hasher.canonical_id(here[1]).decode(), int(here[2]))
            digest = hasher(here[1], here[2], position, here[4], here[3]).hex()
            if leaf is None:
                continue  # beyond the tree (it could not fold past a gap)
            if (leaf[0], leaf[1]) == key:
                if leaf[2] != digest:
                    problems.add(
                        "altered",
                        position,
                        key[0],
                        f"version {key[1]} of {key[0]} is stored with other bytes than the tree "
                        f"recorded (leaf {digest}, the tree's {leaf[2]})",
                    )
                continue
            elsewhere = in_tree(key)
            if elsewhere is not None:
                problems.add(
                    "reordered",
                    position,
                    key[0],
                    f"version {key[1]} of {key[0]} is at position {position}; the tree holds "
                    f"it at position {elsewhere}",
                )
            else:
                problems.add(
                    "inserted",
                    position,
                    key[0],
                    f"version {key[1]} of {key[0]} is at position {position}; the tree never "
                    "held it",
                )
            continue
        assert leaf is not None
        if not leaf[0]:
            problems.add(
                "missing",
                position,
                None,
                "the tree holds a recorded hole at this position; the log no longer records it",
            )
            continue
        moved = in_log((leaf[0], leaf[1]))
        if moved is not None:
            problems.add(
                "reordered",
                position,
                leaf[0],
                f"version {leaf[1]} of {leaf[0]} was at position {position}; the log holds it "
                f"at position {moved}",
            )
        else:
            problems.add(
                "missing",
                position,
                leaf[0],
                f"version {leaf[1]} of {leaf[0]} is no longer in the log",
            )


def verify_ledger(
    ledger: Ledger, given: Sequence[Checkpoint] = (), public_key: bytes | None = None
) -> Verification:
    return verify(Projector(ledger), given, public_key)
