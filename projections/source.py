"""Reading the event log for projections: one query per batch, decoded without the ORM.

The library's notification path goes through the ORM one row at a time, and its mapper
decodes each state through a Python hook called for every JSON object. Folds read the events
table with one keyset-paginated query per batch through the driver's own cursor, parse each
state with ``orjson`` and revive the transcoded values (``{"_type_": …, "_data_": …}``) with
the ledger's own transcodings, caching the many repeated ids and dates. The result is the
same domain event object as the mapper's (``tests/integration/test_event_source.py`` holds
the two to each other over every event type).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent, TranscodingNotRegisteredError
from eventsourcing.utils import get_topic, resolve_topic
from sqlalchemy import Connection, func, select

from ledger import log_gaps
from ledger.service import Ledger
from projections.base import Envelope, as_uuid

Reviver = Callable[[str], Any]


class EventDecoder:
    """Stored event rows → domain events, equal to the library mapper's (same classes, same
    ``__dict__``), several times faster. Ids and dates recur across events and are immutable,
    so each distinct one is made once and shared."""

    def __init__(self, ledger: Ledger) -> None:
        transcoder: Any = ledger.mapper.transcoder
        self._names: dict[str, Any] = dict(transcoder.names)
        self._classes: dict[str, type] = {}
        self._uuids: dict[Any, UUID] = {}
        self._dates: dict[str, dt.date] = {}
        self._revivers: dict[str, Reviver] = {
            "uuid_hex": self._uuid,  # the library's UUIDAsHex
            "date_iso": self._date,
            "datetime_iso": dt.datetime.fromisoformat,
        }

    def _uuid(self, text: Any) -> UUID:
        found = self._uuids.get(text)
        if found is None:
            if len(self._uuids) > 200_000:
                self._uuids.clear()
            found = self._uuids[text] = as_uuid(text)
        return found

    def _date(self, text: str) -> dt.date:
        found = self._dates.get(text)
        if found is None:
            found = self._dates[text] = dt.date.fromisoformat(text)
        return found

    def _revive(self, value: Any) -> Any:
        """A parsed JSON value with its transcoded objects made back into Python objects."""
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                name = value["_type_"]
                reviver = self._revivers.get(name)
                if reviver is not None:
                    return reviver(value["_data_"])
                transcoding = self._names.get(name)
                if transcoding is None:
                    return self._unknown(name)
                return transcoding.decode(self._revive(value["_data_"]))
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[key] = self._revive(item)
            return value
        if type(value) is list:
            return [self._revive(v) if type(v) is dict or type(v) is list else v for v in value]
        return value

    @staticmethod
    def _unknown(name: str) -> Any:
        raise TranscodingNotRegisteredError(
            f"Data serialized with name '{name}' is not deserializable. Please register a "
            "custom transcoding for this type."
        )

    def event(self, originator_id: Any, version: int, topic: str, state: Any) -> Any:
        cls = self._classes.get(topic)
        if cls is None:
            cls = self._classes[topic] = resolve_topic(topic)
        fields = orjson.loads(state)
        revive = self._revive
        for key, value in fields.items():
            if type(value) is dict or type(value) is list:
                fields[key] = revive(value)
        fields["originator_id"] = self._uuid(originator_id)
        fields["originator_version"] = version
        if fields.pop("class_version", 1) != getattr(cls, "class_version", 1):
            return None  # an upcast is needed: let the library's mapper do it
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", fields)
        return event


_DECODERS: weakref.WeakKeyDictionary[Ledger, EventDecoder] = weakref.WeakKeyDictionary()
_DECODERS_LOCK = threading.Lock()


def decoder_for(ledger: Ledger) -> EventDecoder:
    """The ledger's decoder, shared by every read of this process (its caches with it)."""
    with _DECODERS_LOCK:
        decoder = _DECODERS.get(ledger)
        if decoder is None:
            decoder = _DECODERS[ledger] = EventDecoder(ledger)
        return decoder


def read_batches(
    ledger: Ledger, connection: Connection, after: int, batch_size: int, upto: int | None = None
) -> Iterator[list[Envelope]]:
    """Batches of events after position ``after`` (up to ``upto``), oldest first."""
    decoder = decoder_for(ledger)
    while True:
        batch = read_batch(ledger, connection, after, batch_size, upto, decoder)
        if not batch:
            return
        yield batch
        after = batch[-1].position


def read_batch(
    ledger: Ledger,
    connection: Connection,
    after: int,
    limit: int,
    upto: int | None = None,
    decoder: EventDecoder | None = None,
) -> list[Envelope]:
    t = ledger.events_table
    state: Any = t.c.state
    if connection.dialect.name == "postgresql":  # text, not bytea's hex: half as much to send
        state = func.convert_from(state, "UTF8")
    query = select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, state)
    query = query.where(t.c.id > after)
    if upto is not None:
        query = query.where(t.c.id <= upto)
    query = query.order_by(t.c.id).limit(limit)
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    decode = (decoder or decoder_for(ledger)).event
    rows = _fetch_all(connection, str(compiled))
    batch = []
    for position, originator_id, version, topic, state in rows:
        event = decode(originator_id, version, topic, state)
        if event is None:
            event = _library_decode(ledger, originator_id, version, topic, state)
        batch.append(Envelope(position, event, (originator_id, version, topic, state)))
    reached = batch[-1].position if batch else after
    if upto is not None and len(rows) < limit:
        reached = upto  # the log was read to ``upto``: holes up to it are in this batch
    if reached - after != len(batch):  # a hole: recorded ones come as envelopes of their own
        return _with_recorded_gaps(connection, batch, after, reached)
    return batch


def _fetch_all(connection: Connection, sql: str) -> list[Any]:
    """The rows of ``sql`` as the driver gives them (no SQLAlchemy result processing)."""
    # SQLAlchemy types the DB-API connection optional (None once detached); this one is in use
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def read_of_types(
    ledger: Ledger, connection: Connection, types: tuple[type, ...], upto: int, batch_size: int
) -> Iterator[list[Envelope]]:
    """Batches of the events of ``types`` alone (no other event, no recorded hole) up to
    position ``upto``, oldest first: what a fold needs of the log before a range it folds
    (:attr:`projections.base.Projection.CONTEXT`). The database picks them by topic."""
    t = ledger.events_table
    state: Any = t.c.state
    if connection.dialect.name == "postgresql":
        state = func.convert_from(state, "UTF8")
    topics = sorted(get_topic(cls) for cls in types)
    decoder = decoder_for(ledger)
    after = 0
    while True:
        query = (
            select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, state)
            .where(t.c.id > after, t.c.id <= upto, t.c.topic.in_(topics))
            .order_by(t.c.id)
            .limit(batch_size)
        )
        compiled = query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
        # the driver's own values, as read_batch hands them over (the stored row of each)
        rows = _fetch_all(connection, str(compiled))
        if not rows:
            return
        batch = []
        for position, originator_id, version, topic, data in rows:
            event = decoder.event(originator_id, version, topic, data)
            if event is None:
                event = _library_decode(ledger, originator_id, version, topic, data)
            batch.append(Envelope(position, event, (originator_id, version, topic, data)))
        yield batch
        after = batch[-1].position


def _with_recorded_gaps(
    connection: Connection, batch: list[Envelope], after: int, reached: int
) -> list[Envelope]:
    """``batch`` with the recorded holes in ``(after, reached]`` put in position order, each
    an envelope whose event is its :class:`ledger.log_gaps.RecordedGap` (a hole not recorded
    stays a hole: the folds that need every position stop there)."""
    gaps = [Envelope(g.position, g) for g in log_gaps.recorded(connection, after, reached + 1)]
    if not gaps:
        return batch
    return sorted([*batch, *gaps], key=lambda envelope: envelope.position)


def _library_decode(
    ledger: Ledger, originator_id: Any, version: int, topic: str, state: Any
) -> Any:
    data = state.encode() if isinstance(state, str) else bytes(state)
    stored = StoredEvent(as_uuid(originator_id), version, topic, data)
    return ledger.mapper.to_domain_event(stored)
