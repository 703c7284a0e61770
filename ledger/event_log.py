"""The event log as a JSONL file: export, offline verification, import.

A file starts with one header line, then holds one stored event per line, in position order::

    {"checkpoint": {...} | null, "events": 1234, "exported_at": "…Z",
     "format": "nscl-ledger-events/1", "origin": "nscl-ledger"}
    {"leaf_hash": "…", "originator_id": "…", "originator_version": 1, "position": 1,
     "state": "<base64>", "topic": "…"}

(each object on one line, keys sorted, no spaces).

Each event line carries exactly what its leaf hashes (:mod:`ledger.merkle`) plus the leaf
hash itself. A position recorded as a hole (:mod:`ledger.log_gaps`) has a line of its own,
its record and leaf hash::

    {"found_at": "…Z", "found_by": "…", "gap": true, "leaf_hash": "…", "position": 7,
     "reason": "…"}
 The header names the checkpoint the file is consistent with: the newest one of
at most the exported events, whose root the first ``tree_size`` events of the file give.

The offline verifier needs nothing but the file, a checkpoint file and the public key: it
recomputes every leaf, checks the positions run 1, 2, 3, … and the root at the checkpoint's
size, and the checkpoint's signature.

The import (:func:`import_file`) loads a verified file into an empty database, all or
nothing: :func:`refuse_unless_empty`, then :func:`check_file` verifies the whole file against
the checkpoint before anything is written, then :func:`load` writes it in one transaction.
That transaction takes the recorder's table lock (``LOCK TABLE … IN EXCLUSIVE MODE`` on
PostgreSQL), refuses a database that holds events or recorded holes, and reads the file
again (it is not trusted to have stayed as it was): each event is written at the position it
is read at, a recorded hole's row before the events after it, and the transaction is refused
unless the file read again gives the checkpoint's root. PostgreSQL takes the events with
COPY (:func:`ledger.bulk_rows.copy_rows`, one COPY per run of events between recorded holes,
its lines made while the server takes the previous ones), SQLite with ``executemany``
(:func:`ledger.bulk_rows.executemany_rows`). The read models are not folded here: ``ledger
import`` then rebuilds them (``Projector.rebuild``, the bulk path). The events are all or
nothing; the read models are derived, and a rebuild cut short is run again with ``ledger
projections rebuild``.

The position trigger. Migration 0005's ``BEFORE INSERT`` trigger
``ledger_events_position()`` gives or checks each row's position by reading the largest
stored position, row by row: on a COPY it costs more than the COPY itself
(``bench/import_log.py``, the same rows in the same run: 1,000,000 events in 9.3 s without
it, 20.8 s with it). :func:`load` switches it off (``ALTER TABLE … DISABLE TRIGGER``) inside
its own transaction: ALTER TABLE is transactional, so no other session ever sees it off (the
import holds the table lock, and a refusal, a failure or a killed client rolls the switch
back with everything else). Before switching it on again and committing, the import proves
what the trigger would have ensured (:func:`_prove_positions`): the events and recorded
holes stored hold the positions 1..N exactly, N the checkpoint's size (their counts add up
to N, the smallest is 1 and the largest N, no event stands at a recorded hole, and each
table's primary key keeps its own positions distinct). Only the table's owner, or a member
of its role, may switch a trigger off: imports run as the owner (the application's role may
not even insert an event at a chosen position, see migration 0004). Run as any other role
the import keeps the trigger on, which checks each row as it does for every insert: slower,
the same result.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import orjson
from sqlalchemy import Connection, Engine, Text, cast, exc, func, insert, select, text

from ledger import log_gaps, merkle
from ledger.bulk_rows import copy_rows, executemany_rows
from ledger.checkpoint import BadCheckpoint, Checkpoint, origin
from ledger.errors import LedgerError
from ledger.messages import Message
from ledger.verification import Problems, Verification, check_checkpoints

FORMAT = "nscl-ledger-events/1"
EVENT_KEYS = frozenset(
    {"leaf_hash", "originator_id", "originator_version", "position", "state", "topic"}
)
GAP_KEYS = frozenset({"found_at", "found_by", "gap", "leaf_hash", "position", "reason"})
FETCH = 20_000

Progress = Callable[[int, int], None]


class BadLog(LedgerError):
    """An event-log file that cannot be read as one (named with its line)."""

    code = "validation_error"
    title = Message("Invalid event log")


class ImportRefused(LedgerError):
    """An import that would not give a verified copy of the log: nothing was written."""

    code = "validation_error"
    title = Message("Import refused")


NOT_EMPTY = Message("the database already holds events: import into an empty one")
CHANGED = Message("the file changed while it was imported; nothing was imported")


# -- export -----------------------------------------------------------------------------------


def export(
    engine: Engine,
    events_table: Any,
    out: IO[bytes],
    upto: int,
    checkpoint: Checkpoint | None,
    progress: Progress | None = None,
) -> Verification:
    """Write events 1..``upto`` to ``out`` with their leaf hashes, after a header naming
    ``checkpoint``. Refuses (:class:`BadLog`) when the log's root at the checkpoint's size is
    not the checkpoint's root: such a file could not be checked against it. Returns how many
    events were written and their root."""
    header = {
        "checkpoint": checkpoint.to_json() if checkpoint is not None else None,
        "events": upto,
        "exported_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "format": FORMAT,
        "origin": origin(),
    }
    out.write(_dumps(header) + b"\n")
    span = merkle.Span(0)
    count = 0
    checks_at = checkpoint.tree_size if checkpoint is not None else -1
    checks_root = checkpoint.root if checkpoint is not None else b""
    with engine.connect() as connection, connection.begin():
        gaps = log_gaps.recorded(connection, 0, upto + 1)
        entries = log_gaps.merged(stored_events(connection, events_table, upto), gaps)
        for lines, leaves in _lines(entries):
            out.write(b"".join(lines))
            first, count = count, count + len(leaves)
            taken = span.extend(leaves, {checks_at})
            if checks_at in taken and taken[checks_at].root() != checks_root:
                raise BadLog(
                    Message(
                        "the log's root at {count:,} events is {root}, not the checkpoint's "
                        "{expected}: run `ledger verify`",
                        count=checks_at,
                        root=taken[checks_at].root().hex(),
                        expected=checks_root.hex(),
                    )
                )
            if progress is not None and count // FETCH > first // FETCH:
                progress(count, upto)
    if count != upto:
        raise BadLog(
            Message("the log holds {count:,} events, not {upto:,}", count=count, upto=upto)
        )
    return Verification(count, span.root().hex())


def _lines(
    entries: Generator[tuple[Any, ...] | log_gaps.RecordedGap, None, None],
) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """The file's lines of ``entries`` (stored events and recorded holes, in position order)
    and their leaf hashes, :data:`FETCH` at a time; refuses (:class:`BadLog`) a position
    that is neither an event nor a recorded hole. Each event's leaf data is
    :class:`ledger.merkle.LeafHasher`'s, made inline (this loop is what an export of a long
    log spends its time on), each distinct id and topic turned into its JSON once. Closes
    ``entries`` when it stops, so that a refusal ends the stored rows' server-side cursor
    while its transaction is still open."""
    with contextlib.closing(entries):
        yield from _lines_of(entries)


def _lines_of(entries: Iterator[Any]) -> Iterator[tuple[list[bytes], list[bytes]]]:
    ids: dict[Any, bytes] = {}
    topics: dict[str, bytes] = {}
    b64, sha256, hexlify = base64.b64encode, hashlib.sha256, binascii.hexlify
    data_format, line_format = merkle.LEAF_DATA, b'{"leaf_hash":"%s",%s\n'
    lines: list[bytes] = []
    leaves: list[bytes] = []
    for count, entry in enumerate(entries, start=1):
        if type(entry) is tuple:
            position, originator_id, version, topic, state = entry
            oid = ids.get(originator_id)
            if oid is None:
                if len(ids) > 100_000:
                    ids.clear()
                oid = ids[originator_id] = merkle.canonical_id(originator_id)
            topic_json = topics.get(topic)
            if topic_json is None:
                topic_json = topics[topic] = merkle.topic_json_of(topic)
            data = data_format % (oid, version, position, b64(state), topic_json)
        else:
            assert isinstance(entry, log_gaps.RecordedGap)
            position, data = entry.position, entry.leaf_data()
        if position != count:
            raise BadLog(
                Message(
                    "the log skips position {position}, which is not recorded as a hole: it "
                    "cannot be exported whole (`ledger verify` names what is wrong; `ledger "
                    "db record-gaps` records a hole that never held an event)",
                    position=count,
                )
            )
        leaf = sha256(b"\x00" + data).digest()
        leaves.append(leaf)
        lines.append(line_format % (hexlify(leaf), data[1:]))
        if len(leaves) == FETCH:
            yield lines, leaves
            lines, leaves = [], []
    if leaves:
        yield lines, leaves


def stored_events(
    connection: Connection, events_table: Any, upto: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """(position, originator_id, version, topic, state) of every stored event (up to
    ``upto``), in position order, exactly as stored (the id as its text on PostgreSQL, its
    16 bytes on SQLite): streamed through the driver's own cursor (a server-side one on
    PostgreSQL, which needs the connection in a transaction, read ahead)."""
    t = events_table
    postgres = connection.dialect.name == "postgresql"
    # a uuid's text is its canonical form: as text, the driver makes no UUID of each row
    oid = cast(t.c.originator_id, Text) if postgres else t.c.originator_id
    query = select(t.c.id, oid, t.c.originator_version, t.c.topic, t.c.state)
    if upto is not None:
        query = query.where(t.c.id <= upto)
    compiled = query.order_by(t.c.id).compile(
        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
    )
    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor(f"stored_events_{next(_cursors)}") if postgres else raw.cursor()
    try:
        cursor.execute(str(compiled))
        for rows in _read_ahead(cursor) if postgres else _batches(cursor):
            yield from rows
    finally:
        cursor.close()


def _batches(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while rows := cursor.fetchmany(FETCH):
        yield rows


def _read_ahead(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    """:func:`_batches`, each next batch fetched by a thread while the caller works on the
    one it has: the server reads and sends it meanwhile (the driver lets go of the GIL while
    it waits), where a plain fetch would leave the server idle until asked. One fetch at a
    time, so the cursor is never used by two threads at once; closing early waits for the
    fetch under way."""
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        fetched = reader.submit(cursor.fetchmany, FETCH)
        while rows := fetched.result():
            fetched = reader.submit(cursor.fetchmany, FETCH)
            yield rows


_cursors = itertools.count()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# -- reading a file -----------------------------------------------------------------------------


@dataclass(slots=True)
class LoggedEvent:
    """An event as a file holds it. Read-only by convention, not frozen: a frozen
    dataclass's ``__init__`` took a quarter of the time of reading a line."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    leaf_hash: str
    #: ``state`` in standard base64, as the leaf data holds it: the file's own text when it
    #: is exactly that (as an export writes it), so that it is not encoded again
    state_base64: bytes = field(default=b"", repr=False, compare=False)

    def leaf_data(self, hasher: merkle.LeafHasher, position: int) -> bytes:
        """The leaf data of this event at ``position``."""
        encoded = self.state_base64 or base64.b64encode(self.state)
        return hasher.encoded_data(
            self.originator_id, self.originator_version, position, encoded, self.topic
        )


@dataclass(frozen=True)
class LoggedGap:
    """A recorded hole as a file holds it."""

    gap: log_gaps.RecordedGap
    leaf_hash: str

    @property
    def position(self) -> int:
        return self.gap.position


Logged = LoggedEvent | LoggedGap


def read(path: str | Path) -> tuple[dict[str, Any], Iterator[Logged]]:
    """The header and the events (and recorded holes) of a file; a malformed line is refused
    with its number."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the generator
    except OSError as error:
        raise BadLog(
            Message("cannot read {path}: {reason}", path=path, reason=error.strerror)
        ) from None
    first = handle.readline()
    header = _parse(first, 1, path)
    if header.get("format") != FORMAT:
        handle.close()
        raise BadLog(
            Message(
                "{path}: line 1 is not the header of an {format} file", path=path, format=FORMAT
            )
        )

    def events() -> Iterator[Logged]:
        ids: dict[str, UUID] = {}  # each originator's id parsed once (it has many events)
        with handle:
            for number, line in enumerate(handle, start=2):
                if line.strip():
                    value = _parse(line, number, path)
                    if "gap" in value:
                        yield _gap(value, number, path)
                    else:
                        yield _event(value, number, path, ids)

    return header, events()


def _parse(line: bytes, number: int, path: str | Path) -> dict[str, Any]:
    try:
        value = orjson.loads(line)
    except ValueError:
        raise BadLog(Message("{where} is not JSON", where=_line(path, number))) from None
    if type(value) is not dict:
        raise BadLog(Message("{where} is not a JSON object", where=_line(path, number)))
    return value


def _line(path: str | Path, number: int) -> Message:
    return Message("{path}: line {number}", path=path, number=number)


def _keys(value: dict[str, Any], keys: frozenset[str], where: Message) -> None:
    if set(value) != keys:
        missing = ", ".join(sorted(keys - set(value)))
        extra = ", ".join(sorted(set(value) - keys))
        if missing and extra:
            said = Message("lacks {missing}; has unknown {extra}", missing=missing, extra=extra)
        elif missing:
            said = Message("lacks {missing}", missing=missing)
        else:
            said = Message("has unknown {extra}", extra=extra)
        raise BadLog(Message("{where} {said}", where=where, said=said))


def _whole_numbers(where: Message, **numbers: Any) -> None:
    for name, number in numbers.items():
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise BadLog(
                Message("{where}: {name} must be a whole number ≥ 1", where=where, name=name)
            )


def _gap(value: dict[str, Any], number: int, path: str | Path) -> LoggedGap:
    where = _line(path, number)
    _keys(value, GAP_KEYS, where)
    _whole_numbers(where, position=value["position"])
    texts = ("found_at", "found_by", "reason", "leaf_hash")
    if value["gap"] is not True or not all(isinstance(value[k], str) for k in texts):
        raise BadLog(
            Message(
                "{where}: a recorded hole has gap true and text found_at, found_by, reason",
                where=where,
            )
        )
    gap = log_gaps.RecordedGap(
        value["position"], value["found_at"], value["found_by"], value["reason"]
    )
    return LoggedGap(gap, value["leaf_hash"])


def _event(
    value: dict[str, Any], number: int, path: str | Path, ids: dict[str, UUID]
) -> LoggedEvent:
    """One event's line, checked; its line's name is made only for a refusal (making it for
    every line cost as much as the rest of the reading). JSON gives ``int`` for a number
    without a fraction or exponent, ``bool`` for true and false: ``type(…) is int`` takes the
    one and not the other."""
    if value.keys() != EVENT_KEYS:
        _keys(value, EVENT_KEYS, _line(path, number))
    position, version = value["position"], value["originator_version"]
    if type(position) is not int or type(version) is not int or position < 1 or version < 1:
        _whole_numbers(_line(path, number), position=position, originator_version=version)
    topic, leaf_hash, originator_id = value["topic"], value["leaf_hash"], value["originator_id"]
    if type(topic) is not str or type(leaf_hash) is not str:
        raise BadLog(
            Message("{where}: topic and leaf_hash must be text", where=_line(path, number))
        )
    originator = ids.get(originator_id) if type(originator_id) is str else None
    if originator is None:
        try:
            originator = UUID(str(originator_id))
        except ValueError:
            raise BadLog(
                Message("{where}: originator_id is not a UUID", where=_line(path, number))
            ) from None
        if len(ids) > 100_000:
            ids.clear()
        ids[str(originator_id)] = originator
    try:
        # strict: the alphabet, the padding and nothing after it (what b64encode writes)
        state = binascii.a2b_base64(value["state"], strict_mode=True)
    except (binascii.Error, ValueError, TypeError):
        raise BadLog(
            Message("{where}: state is not standard base64", where=_line(path, number))
        ) from None
    text = value["state"]
    if not state or text[-1] != "=":
        encoded = text.encode()  # whole groups of three bytes: no bits to spare
    elif (text[-2] == "=" and text[-3] in "AQgw") or text[-2] in "AEIMQUYcgkosw048":
        encoded = text.encode()  # the spare bits of the last digit are 0, as b64encode makes them
    else:
        encoded = base64.b64encode(state)
    return LoggedEvent(position, originator, version, topic, state, leaf_hash, encoded)


# -- offline verification ---------------------------------------------------------------------


def verify_file(
    path: str | Path,
    checkpoints: list[Checkpoint],
    public_key: bytes | None,
    signatures: bool = True,
) -> Verification:
    """Verify a file with no database: every leaf, the positions, each checkpoint's root
    and (unless ``signatures`` is false) its signature."""
    _, events = read(path)
    hasher = merkle.LeafHasher()
    frontier = merkle.Frontier()
    problems = Problems()
    sizes = {c.tree_size for c in checkpoints}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    seen: dict[tuple[UUID, int], int] = {}
    count = 0
    for event in events:
        count += 1
        if isinstance(event, LoggedGap):
            leaf, record = event.gap.leaf_hash(), None
            key: tuple[UUID, int] | None = None
        else:
            key = (event.originator_id, event.originator_version)
            leaf = merkle.leaf_hash(event.leaf_data(hasher, event.position))
            record = event.originator_id
        if event.position != count:
            kind = "missing" if event.position > count else "reordered"
            problems.add(
                kind,
                count,
                record,
                f"line {count + 1} holds position {event.position}; position {count} was due",
            )
        elif key is not None and key in seen:
            problems.add(
                "inserted",
                count,
                record,
                f"version {key[1]} of {record} is already at position {seen[key]}",
            )
        elif leaf.hex() != event.leaf_hash:
            what = "recorded hole's record" if key is None else "event's bytes"
            problems.add(
                "altered",
                count,
                record,
                f"the {what} give leaf {leaf.hex()}, the file says {event.leaf_hash}",
            )
        if key is not None:
            seen.setdefault(key, count)
        frontier.push(leaf)
        if count in sizes:
            roots[count] = frontier.root()
    roots[count] = frontier.root()
    first_bad = min((p.position for p in problems.found if p.position), default=None)
    check_checkpoints(problems, checkpoints, roots, count, public_key, first_bad, signatures)
    return Verification(count, roots[count].hex(), problems.listed())


# -- import -----------------------------------------------------------------------------------


def import_file(
    engine: Engine,
    events_table: Any,
    path: str | Path,
    checkpoint: Checkpoint,
    public_key: bytes | None,
    progress: Progress | None = None,
) -> Verification:
    """Load a file into an empty database after checking every leaf and the root against
    ``checkpoint`` (and its signature, given ``public_key``; without one the signature is
    not checked); all or nothing. The read models are not touched: fold them afterwards
    (a rebuild, which reads the whole log in bulk)."""
    refuse_unless_empty(engine, events_table)
    result = check_file(path, checkpoint, public_key)
    load(engine, events_table, path, checkpoint, progress)
    return result


def refuse_unless_empty(engine: Engine, events_table: Any) -> None:
    """Refuse (:class:`ImportRefused`) a database that already holds events."""
    with engine.connect() as connection:
        if connection.execute(select(func.count()).select_from(events_table)).scalar():
            raise ImportRefused(NOT_EMPTY)


def check_file(path: str | Path, checkpoint: Checkpoint, public_key: bytes | None) -> Verification:
    """Verify a file for import, before anything is written: every leaf, the positions, the
    root at the checkpoint's size (and its signature, given ``public_key``), and that the
    checkpoint covers every event of the file; refuse (:class:`ImportRefused`) otherwise."""
    result = verify_file(path, [checkpoint], public_key, signatures=public_key is not None)
    if not result.ok:
        first = result.problems[0]
        more = (
            Message(" ({count} problems)", count=len(result.problems))
            if len(result.problems) > 1
            else ""
        )
        raise ImportRefused(
            Message(
                "the file does not verify against the checkpoint, nothing was imported: "
                "{first}{more}",
                first=first.line(),
                more=more,
            )
        )
    if result.checked != checkpoint.tree_size:
        raise ImportRefused(
            Message(
                "the file holds {checked:,} events but the checkpoint covers {covered:,}: every "
                "imported event must be covered by it",
                checked=result.checked,
                covered=checkpoint.tree_size,
            )
        )
    return result


def load(
    engine: Engine,
    events_table: Any,
    path: str | Path,
    checkpoint: Checkpoint,
    progress: Progress | None = None,
) -> int:
    """Load a file (checked by :func:`check_file`) into an empty database in one
    transaction, reading it again and refusing it (:class:`ImportRefused`, nothing written)
    unless it still gives the checkpoint's root; return how many positions were loaded.
    See the module's documentation for how (COPY, ``executemany``, the position trigger)."""
    total = checkpoint.tree_size
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text(f"LOCK TABLE {events_table.name} IN EXCLUSIVE MODE"))
        if connection.execute(select(func.count()).select_from(events_table)).scalar() or (
            log_gaps.recorded(connection)
        ):
            raise ImportRefused(NOT_EMPTY)
        trigger = _position_trigger(connection, events_table) if postgres else None
        if trigger is not None:
            connection.execute(text(f"ALTER TABLE {events_table.name} DISABLE TRIGGER {trigger}"))

        def write(rows: Iterator[dict[str, Any]]) -> None:
            if postgres:
                copy_rows(connection, events_table, rows, ahead=True)
            else:
                executemany_rows(connection, events_table, rows)

        # read again (the file is not trusted to stay as it was): the same root or nothing
        again = _Reread(path, total, progress, text_ids=postgres)
        # a verified file breaks a key (one event's version twice, say) only if it changed
        broken = (exc.IntegrityError, connection.dialect.loaded_dbapi.IntegrityError)
        try:
            while not again.ended:
                write(again.events())
                if again.gap is not None:  # recorded before the events after it
                    connection.execute(
                        insert(log_gaps.log_gaps).values(
                            position=again.gap.position,
                            found_at=again.gap.found_at,
                            found_by=again.gap.found_by,
                            reason=again.gap.reason,
                        )
                    )
        except broken:
            raise ImportRefused(CHANGED) from None
        if again.count != total or again.frontier.root() != checkpoint.root:
            raise ImportRefused(CHANGED)
        _prove_positions(connection, events_table, total)
        if trigger is not None:
            connection.execute(text(f"ALTER TABLE {events_table.name} ENABLE TRIGGER {trigger}"))
        if progress is not None:
            progress(again.count, total)
    return again.count


class _Reread:
    """The file read again inside the import's transaction: :meth:`events` gives the rows of
    the events up to the next recorded hole (then in :attr:`gap`) or the end of the file
    (then :attr:`ended`), each at the position it is read at, its leaf pushed on
    :attr:`frontier`. With ``text_ids`` an originator's id is its canonical text (what COPY
    writes), else a UUID."""

    def __init__(
        self, path: str | Path, total: int, progress: Progress | None, text_ids: bool
    ) -> None:
        self._entries = read(path)[1]
        self._total = total
        self._progress = progress
        self._text_ids = text_ids
        self.frontier = merkle.Frontier()
        self.count = 0
        self.gap: log_gaps.RecordedGap | None = None
        self.ended = False

    def events(self) -> Iterator[dict[str, Any]]:
        self.gap = None
        push, hasher, progress = self.frontier.push, merkle.LeafHasher(), self._progress
        texts: dict[UUID, str] | None = {} if self._text_ids else None
        count = self.count
        try:
            for entry in self._entries:
                count += 1
                if type(entry) is LoggedGap:
                    if entry.position != count:
                        raise ImportRefused(CHANGED)
                    push(entry.gap.leaf_hash())
                    self.gap = entry.gap
                    return
                assert type(entry) is LoggedEvent
                push(sha256(b"\x00" + entry.leaf_data(hasher, count)).digest())
                originator: UUID | str = entry.originator_id
                if texts is not None:
                    text = texts.get(entry.originator_id)
                    if text is None:
                        if len(texts) > 100_000:
                            texts.clear()
                        text = texts[entry.originator_id] = str(entry.originator_id)
                    originator = text
                yield {
                    "id": count,
                    "originator_id": originator,
                    "originator_version": entry.originator_version,
                    "topic": entry.topic,
                    "state": entry.state,
                }
                if progress is not None and count % FETCH == 0:
                    progress(count, self._total)
            self.ended = True
        finally:
            self.count = count


def _position_trigger(connection: Connection, events_table: Any) -> str | None:
    """The name of migration 0005's position trigger on the events table, if it is there and
    this connection's role may disable it (the table's owner, or a member of its role: who
    runs imports); else None, and the trigger checks each row as it does for every insert."""
    name = f"{events_table.name}_position"
    found = connection.execute(
        text(
            "SELECT pg_catalog.pg_has_role(c.relowner, 'MEMBER') FROM pg_catalog.pg_trigger t "
            "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgrelid = CAST(:table AS regclass) AND t.tgname = :name"
        ),
        {"table": events_table.name, "name": name},
    ).scalar()
    return name if found else None


def _prove_positions(connection: Connection, events_table: Any, total: int) -> None:
    """Refuse (:class:`ImportRefused`) unless the events and recorded holes now stored hold
    the positions 1..``total`` exactly, each once: their counts add up to ``total``, the
    smallest is 1, the largest ``total``, no event stands at a recorded hole (each table's
    primary key keeps its own positions distinct)."""
    events, gaps = events_table, log_gaps.log_gaps
    counted, lowest, highest = connection.execute(
        select(func.count(), func.min(events.c.id), func.max(events.c.id))
    ).one()
    holes, lowest_hole, highest_hole = connection.execute(
        select(func.count(), func.min(gaps.c.position), func.max(gaps.c.position))
    ).one()
    shared = connection.execute(
        select(func.count()).select_from(events.join(gaps, events.c.id == gaps.c.position))
    ).scalar()
    ends = [p for p in (lowest, highest, lowest_hole, highest_hole) if p is not None]
    if counted + holes != total or shared or (ends and (min(ends) != 1 or max(ends) != total)):
        raise ImportRefused(
            Message(
                "the stored positions are not exactly 1 to {total:,} ({counted:,} events from "
                "{lowest} to {highest}, {holes:,} recorded holes); nothing was imported",
                total=total,
                counted=counted,
                lowest=lowest,
                highest=highest,
                holes=holes,
            )
        )


__all__ = [
    "BadCheckpoint",
    "BadLog",
    "ImportRefused",
    "LoggedEvent",
    "LoggedGap",
    "check_file",
    "export",
    "import_file",
    "load",
    "read",
    "refuse_unless_empty",
    "verify_file",
]
