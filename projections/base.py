"""What every projection shares: its tables in two sets, its rows while a batch folds.

A projection is a fold over the ledger's events into SQL tables. Each module of this package
defines one: its ``NAME`` (also its tracking key), its tables and a ``Projection`` subclass
with one ``singledispatchmethod`` handler per event type it cares about. The same fold serves
every path (catch-up, live follow, rebuild: :mod:`projections.projector`; replay:
:mod:`projections.replay`). Every projection is listed in :mod:`projections.registry`.

Every projection has two sets of tables, ``<table>_a`` and ``<table>_b``, both created by the
migrations. Readers read the *active* set named in the projection's tracking row; a rebuild
fills the other set from the first event and then, in one transaction, makes it the active
one. A reader therefore always sees a complete model, never a half-built one.

While a batch is folded, rows live in a :class:`Rows` buffer per table: read once from the
database when first touched (unless the tables are known to be empty, as in a rebuild),
changed in memory, and written back when the batch commits, together with the tracking row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    or_,
    select,
)

from ledger.log_gaps import RecordedGap
from projections.bulk import insert_rows

SETS = ("a", "b")
BIGINT = BigInteger().with_variant(Integer(), "sqlite")

Key = tuple[Any, ...]
#: how a long fold reports: (what is folded, position reached, position it goes to)
Progress = Callable[[str, int, int], None]


def as_uuid(value: Any) -> UUID:
    """An id as callers and drivers hand it over: a UUID, its text (PostgreSQL, query
    strings) or its 16 bytes (SQLite)."""
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes | memoryview):
        return UUID(bytes=bytes(value))
    return UUID(str(value))


def equal_to(table: Table, **values: Any) -> list[ColumnElement[bool]]:
    """A reader's filters: ``table.c.<column> == value`` for each ``column=value`` given
    (``None`` is "any"), for ``select(...).where(*equal_to(...))``."""
    return [table.c[column] == value for column, value in values.items() if value is not None]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One stored event as a fold sees it: its global position and the domain event, and
    the stored row it was decoded from (``originator_id``, ``originator_version``, ``topic``,
    ``state``) for the folds that hash what is stored (the Merkle tree). A recorded hole in
    the log comes as an envelope whose event is its :class:`~ledger.log_gaps.RecordedGap`,
    with no stored row."""

    position: int
    event: Any
    stored: tuple[Any, int, str, Any] | None = None


class TableDef:
    """A projection table, defined once and made for each set (``name_a``, ``name_b``).

    ``appended``: rows are only ever appended (:meth:`Rows.append`), one or more per event,
    each with the ``position`` of its event and never changed after; the other tables are
    keyed rows changed in place. Replay snapshots (:mod:`projections.snapshots`) keep the
    two kinds differently."""

    def __init__(
        self,
        name: str,
        key: tuple[str, ...],
        make: Callable[[str, MetaData], Table],
        appended: bool = False,
    ) -> None:
        self.name = name
        self.key = key
        self._make = make
        self.appended = appended

    def make(self, metadata: MetaData, set_name: str) -> Table:
        return self._make(f"{self.name}_{set_name}", metadata)

    def renamed(self, name: str) -> TableDef:
        """The same table under another name: a copy kept by a projection that reuses another
        projection's fold (:class:`Composite`)."""
        return TableDef(name, self.key, self._make, self.appended)


class Rows:
    """The rows of one table touched by the batch being folded, keyed by primary key.

    ``complete`` means every row of the table is in memory (a rebuild, which starts from
    empty tables and keeps its rows between batches): a key not in memory has no row.
    Otherwise a row is read from the database the first time the batch touches it.
    """

    def __init__(self, table: Table, key: tuple[str, ...], complete: bool) -> None:
        self.table = table
        self.key = key
        self.complete = complete
        self.connection: Connection | None = None
        self.rows: dict[Key, dict[str, Any]] = {}
        self.absent: set[Key] = set()
        self.in_table: set[Key] = set()
        self.dirty: set[Key] = set()
        self.appended: list[dict[str, Any]] = []
        self._one: Select[Any] | None = None

    def get(self, key: Key) -> dict[str, Any] | None:
        if key in self.rows:
            return self.rows[key]
        if self.complete or key in self.absent:
            return None
        row = self._load(key)
        if row is None:
            self.absent.add(key)
            return None
        self.rows[key] = row
        self.in_table.add(key)
        return row

    def get_or_create(self, key: Key, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The row for ``key``, made if missing, to be changed in place."""
        row = self.get(key)
        if row is None:
            row = make()
            self.rows[key] = row
            self.absent.discard(key)
        self.dirty.add(key)
        return row

    def touch(self, key: Key) -> dict[str, Any] | None:
        """The row for ``key``, to be changed in place, or None if there is none."""
        row = self.get(key)
        if row is not None:
            self.dirty.add(key)
        return row

    def append(self, row: dict[str, Any]) -> None:
        """A new row of an append-only table (one row per event, per posting)."""
        self.appended.append(row)

    def values(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows.values())

    def _load(self, key: Key) -> dict[str, Any] | None:
        assert self.connection is not None, "no connection to read a row from"
        if self._one is None:  # one statement, made once: making it costs more than running it
            self._one = select(self.table).where(
                and_(*(self.table.c[k] == bindparam(f"key_{k}") for k in self.key))
            )
        values = {f"key_{k}": v for k, v in zip(self.key, key, strict=True)}
        row = self.connection.execute(self._one, values).mappings().first()
        return dict(row) if row is not None else None

    def flush(self, connection: Connection, keyed: bool = True) -> None:
        """Write the batch's rows. ``keyed=False`` writes only the appended rows and keeps
        the changed keyed rows in memory (a rebuild writes each of those once, at its end)."""
        if keyed and self.dirty:
            replaced = [key for key in self.dirty if key in self.in_table]
            for chunk in _chunks(replaced, 300):
                connection.execute(
                    delete(self.table).where(
                        or_(
                            *(
                                and_(
                                    *(
                                        self.table.c[k] == v
                                        for k, v in zip(self.key, key, strict=True)
                                    )
                                )
                                for key in chunk
                            )
                        )
                    )
                )
            insert_rows(connection, self.table, [self.rows[key] for key in self.dirty])
            self.in_table |= self.dirty
            self.dirty.clear()
        if self.appended:
            insert_rows(connection, self.table, self.appended)
            self.appended = []

    def drain(self, keyed: bool) -> list[dict[str, Any]]:
        """The rows a rebuild writes now (appended ones; with ``keyed``, also the changed keyed
        rows, none of which is in the table yet), taken as written."""
        rows, self.appended = self.appended, []
        if keyed and self.dirty:
            assert not (self.dirty & self.in_table), "drain() is for a rebuild's new rows"
            rows.extend(self.rows[key] for key in self.dirty)
            self.in_table |= self.dirty
            self.dirty.clear()
        return rows


def _passes_over(projection: Projection, gap: RecordedGap, position: int) -> None:
    """What a fold of events does with a recorded hole: nothing."""


def _chunks(items: list[Key], size: int) -> Iterator[list[Key]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Projection:
    """Base of the projections: one fold, its tables, its rows while a batch folds."""

    NAME: ClassVar[str]
    TABLES: ClassVar[tuple[TableDef, ...]]
    #: whether replays may start from its replay snapshots (:mod:`projections.snapshots`)
    SNAPSHOTS: ClassVar[bool] = True
    #: the event types whose fold makes its keyed rows, when every other event only appends
    #: rows that read them: a parallel rebuild may then fold it in ranges of positions, each
    #: range after a fold of these events alone up to its start (:mod:`projections.parallel`).
    #: None: its rows depend on every event before them (folded from the first, in one piece).
    CONTEXT: ClassVar[tuple[type, ...] | None] = None

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        self.tables = tables
        self.rebuilding = rebuilding
        self.buffers = {d.name: Rows(tables[d.name], d.key, rebuilding) for d in self.TABLES}

    def rows(self, table: str) -> Rows:
        return self.buffers[table]

    def use(self, connection: Connection) -> None:
        for buffer in self.buffers.values():
            buffer.connection = connection

    def fold(self, envelopes: Iterable[Envelope]) -> None:
        handlers = self._handlers()
        for envelope in envelopes:
            event = envelope.event
            handler = handlers.get(type(event))
            if handler is None:
                handler = handlers[type(event)] = self._handler_for(type(event))
            handler(self, event, envelope.position)

    _handler_tables: ClassVar[dict[type, dict[type, Callable[..., None]]]] = {}

    @classmethod
    def _handlers(cls) -> dict[type, Callable[..., None]]:
        """Event type → handler, looked up once per class and type (``singledispatchmethod``
        builds a new wrapper on every call, which costs as much as many folds). A recorded
        hole in the log (:class:`ledger.log_gaps.RecordedGap`) is no event: passed over."""
        handlers = Projection._handler_tables.get(cls)
        if handlers is None:
            handlers = Projection._handler_tables[cls] = {RecordedGap: _passes_over}
        return handlers

    @classmethod
    def _handler_for(cls, event_type: type) -> Callable[..., None]:
        method = inspect.getattr_static(cls, "process_event")
        if isinstance(method, singledispatchmethod):
            return method.dispatcher.dispatch(event_type)
        return cls.process_event

    def process_event(self, event: Any, position: int) -> None:
        """Fold one event. Subclasses define this as their own ``singledispatchmethod``,
        with one registered method per event type; other events are ignored."""
        raise NotImplementedError

    def flush(self, connection: Connection, keyed: bool = True) -> None:
        for buffer in self.buffers.values():
            buffer.flush(connection, keyed)

    def restored(self) -> None:
        """Called on a rebuilding fold whose keyed rows were put in memory from a replay
        snapshot rather than folded: rebuild whatever else it keeps in memory in a rebuild
        (an index of its rows, say). Nothing by default."""

    def drain(self, keyed: bool) -> list[tuple[Table, list[dict[str, Any]]]]:
        """For a rebuild: the rows to write now, per table (see :meth:`Rows.drain`)."""
        drained = [(b.table, b.drain(keyed)) for b in self.buffers.values()]
        return [(table, rows) for table, rows in drained if rows]


class Composite(Projection):
    """A projection that folds, besides its own events, other projections' folds into copies
    of their tables (named ``PREFIX`` + the table's name), so that a report needing all of
    them reads them at one position of the log. Its ``TABLES`` are its own and the copies
    (:meth:`copies`); each part folds every batch with its own handlers, then this one's."""

    PREFIX: ClassVar[str]
    PARTS: ClassVar[tuple[type[Projection], ...]] = ()

    @classmethod
    def copies(cls, prefix: str, parts: tuple[type[Projection], ...]) -> tuple[TableDef, ...]:
        return tuple(d.renamed(prefix + d.name) for part in parts for d in part.TABLES)

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        super().__init__(tables, rebuilding=rebuilding)
        self.parts: list[Projection] = []
        for cls in self.PARTS:
            part = cls.__new__(cls)
            part.tables = {d.name: tables[self.PREFIX + d.name] for d in cls.TABLES}
            part.rebuilding = rebuilding
            part.buffers = {d.name: self.buffers[self.PREFIX + d.name] for d in cls.TABLES}
            self.parts.append(part)

    def fold(self, envelopes: Iterable[Envelope]) -> None:
        batch = envelopes if isinstance(envelopes, list) else list(envelopes)
        for part in self.parts:
            part.fold(batch)
        super().fold(batch)

    def restored(self) -> None:
        for part in self.parts:
            part.restored()
