"""Rows written in bulk, exactly as SQLAlchemy would store them: COPY on PostgreSQL,
``executemany`` on SQLite.

``copy_rows`` turns rows into PostgreSQL's COPY text format with one converter per column,
made once per table as straight-line code, and streams them in the connection's transaction
(the rows may be an iterator: they are formatted a few thousand at a time while the server
takes the previous ones). ``executemany_rows`` binds each value with its column type's own
bind processor and hands the rows to the driver's ``executemany``. The read models' writers
(:mod:`projections.bulk`) and the import of an event-log file (:mod:`ledger.event_log`) use
them.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    Table,
    Uuid,
    insert,
)

Row = dict[str, Any]
NULL = "\\N"
#: rows written with a multi-row INSERT below this many; COPY above
COPY_AT_LEAST = 20


def insert_rows(connection: Connection, table: Table, rows: list[Row]) -> None:
    """Insert ``rows`` in the connection's transaction: with COPY on PostgreSQL when there
    are more than a few (a multi-row INSERT through psycopg2 writes about 9,000 rows a second,
    COPY several times that)."""
    if len(rows) >= COPY_AT_LEAST and connection.dialect.driver == "psycopg2":
        copy_rows(connection, table, rows)
    elif len(rows) >= COPY_AT_LEAST and connection.dialect.driver == "pysqlite":
        executemany_rows(connection, table, rows)
    elif rows:
        connection.execute(insert(table), rows)


_INSERTS: dict[tuple[Table, str], tuple[str, Callable[[Row], tuple[Any, ...]]]] = {}


def executemany_rows(connection: Connection, table: Table, rows: Iterable[Row]) -> None:
    """Insert ``rows`` with the driver's ``executemany``, each value bound by its column
    type's own bind processor (so stored exactly as SQLAlchemy stores it), without
    SQLAlchemy's per-row work, which costs several times the insert itself."""
    dialect = connection.dialect
    found = _INSERTS.get((table, dialect.name))
    if found is None:
        columns = list(table.columns)
        processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        scope: dict[str, Any] = {f"p{i}": p for i, p in enumerate(processors)}
        expressions = ", ".join(
            f"row[{c.name!r}]"
            if p is None
            else f"(None if (v := row[{c.name!r}]) is None else p{i}(v))"
            for i, (c, p) in enumerate(zip(columns, processors, strict=True))
        )
        exec(f"def values(row):\n    return ({expressions},)\n", scope)
        names = ", ".join(f'"{c.name}"' for c in columns)
        marks = ", ".join(dialect.paramstyle == "qmark" and "?" or "%s" for _ in columns)
        statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
        found = _INSERTS[(table, dialect.name)] = (statement, scope["values"])
    sql, to_values = found
    # SQLAlchemy types the DB-API connection optional (None once detached); this one is in use
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # both drivers take any iterable of rows (typed as a sequence): streamed, not listed
        cursor.executemany(sql, map(to_values, rows))  # type: ignore[arg-type]
    finally:
        cursor.close()


def _escape(text: str) -> str:
    """Text as COPY's text format takes it (NUL never reaches here: commands refuse it)."""
    if "\\" in text or "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        text = text.replace("\t", "\\t")
    return text


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _binary(value: bytes | memoryview) -> str:
    """Bytes as COPY's text format takes a ``bytea``: its hex form ``\\x…``, the backslash
    already escaped (hex digits need no escaping)."""
    return "\\\\x" + value.hex()


def _expression(column: Any, value: str) -> str:
    """How one column's Python value is written, as an expression over ``value``: JSON with
    ``orjson`` (the same JSON as the JSON type's ``json.dumps``, without escaping letters
    outside ASCII), numbers and ids as their text, dates and times in ISO 8601, booleans as
    t/f, bytes in hex, text escaped."""
    kind = column.type
    if isinstance(kind, JSON):
        text = f"_json({value})"
    elif isinstance(kind, Boolean):
        text = f"('t' if {value} else 'f')"
    elif isinstance(kind, Integer):
        text = f"str({value})"
    elif isinstance(kind, Uuid):
        text = f"{value}.hex"  # PostgreSQL takes a uuid's 32 digits without hyphens
    elif isinstance(kind, Date | DateTime):
        text = f"{value}.isoformat()"
    elif isinstance(kind, LargeBinary):
        text = f"_binary({value})"
    else:
        text = f"{value} if type({value}) is str else str({value})"
    return f"(NULL if {value} is None else {text})" if column.nullable else text


_LINES: dict[Table, tuple[str, Callable[[Row], str]]] = {}


def _line_writer(table: Table) -> tuple[str, Callable[[Row], str]]:
    """The COPY statement of ``table`` and its row → line function, made once per table as
    straight-line code over the row's values (a loop over converters costs twice as much).
    Values are escaped only when the joined line shows that one needs it (a ``bytea``'s hex
    form is written escaped already, and never escaped again)."""
    found = _LINES.get(table)
    if found is None:
        columns = list(table.columns)
        binary = [isinstance(c.type, LargeBinary) for c in columns]
        values = "\n".join(f"    v{i} = row[{c.name!r}]" for i, c in enumerate(columns))
        fields = ", ".join(_expression(c, f"v{i}") for i, c in enumerate(columns))
        escaped = ", ".join(
            f"fields[{i}]"
            if binary[i]
            else f"NULL if v{i} is None else _escape(fields[{i}])"
            if c.nullable
            else f"_escape(fields[{i}])"
            for i, c in enumerate(columns)
        )
        # the backslashes a line holds when nothing needed escaping: one per NULL, two per
        # bytea (its escaped ``\\x``)
        slashes = [f"(v{i} is None)" for i, c in enumerate(columns) if c.nullable]
        slashes += [f"2 * (v{i} is not None)" for i in range(len(columns)) if binary[i]]
        source = (
            f"def line(row):\n{values}\n    fields = ({fields},)\n"
            "    text = TAB.join(fields)\n"
            # the usual case: no value holds a character COPY would need escaped
            f"    if (text.count(TAB) == {len(columns) - 1} and '\\n' not in text"
            f" and '\\r' not in text and text.count('\\\\') == {' + '.join(slashes) or '0'}):\n"
            "        return text\n"
            f"    return TAB.join(({escaped},))\n"
        )
        scope = {"NULL": NULL, "TAB": "\t", "_json": _json, "_escape": _escape, "_binary": _binary}
        exec(compile(source, f"<COPY line of {table.name}>", "exec"), scope)
        quoted = ", ".join(f'"{c.name}"' for c in columns)
        line: Callable[[Row], str] = cast(Callable[[Row], str], scope["line"])
        found = _LINES[table] = (f'COPY "{table.name}" ({quoted}) FROM STDIN', line)
    return found


def copy_rows(
    connection: Connection, table: Table, rows: Iterable[Row], ahead: bool = False
) -> None:
    """Append ``rows`` to ``table`` with PostgreSQL's COPY, in the connection's transaction.
    With ``ahead`` the rows (an iterator that does work of its own, say) are made and
    formatted by a thread of their own while the driver sends the previous ones, which it
    does without holding the GIL: the server takes one batch while the next is made."""
    statement, line = _line_writer(table)
    lines = map(line, rows)
    # SQLAlchemy types the DB-API connection optional (None once detached); this one is in use
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if ahead:
            with _LinesAhead(lines) as reader:
                cursor.copy_expert(statement, reader)
        else:
            cursor.copy_expert(statement, _Lines(lines))
    finally:
        cursor.close()


class _Lines:
    """A file for ``copy_expert`` that formats its lines a few thousand at a time, so that
    a large table's COPY never holds all its text at once."""

    def __init__(self, lines: Iterator[str], per_read: int = 2000) -> None:
        self._lines = lines
        self._per_read = per_read

    def read(self, size: int = -1) -> str:
        chunk = list(itertools.islice(self._lines, self._per_read))
        return "\n".join(chunk) + "\n" if chunk else ""

    def readline(self, size: int = -1) -> str:
        return self.read(size)


class _LinesAhead:
    """:class:`_Lines` made by a thread of their own, a few batches ahead of the reader; an
    error in the making is raised by :meth:`read` (so the COPY fails with it)."""

    _END = object()

    def __init__(self, lines: Iterator[str], per_read: int = 2000, depth: int = 4) -> None:
        self._lines = lines
        self._per_read = per_read
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._make, name="copy-lines", daemon=True)

    def __enter__(self) -> _LinesAhead:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # let a maker blocked on a full queue see the stop
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _make(self) -> None:
        try:
            while chunk := list(itertools.islice(self._lines, self._per_read)):
                if not self._put("\n".join(chunk) + "\n"):
                    return
            self._put(self._END)
        except BaseException as error:  # handed to the reader
            self._put(error)

    def read(self, size: int = -1) -> str:
        item = self._queue.get()
        if item is self._END:
            self._queue.put(item)  # a later read sees the end too
            return ""
        if isinstance(item, BaseException):
            raise item
        return cast(str, item)

    def readline(self, size: int = -1) -> str:
        return self.read(size)
