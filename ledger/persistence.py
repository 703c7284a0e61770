"""Persistence wiring: the database URL, the event store's tables and transcodings.

One SQLAlchemy engine per process, made by the eventsourcing-sqlalchemy datastore from
``LEDGER_DATABASE_URL`` (default: the SQLite file ``ledger.db`` in the home,
``ledger/home.py``); only SQLite and PostgreSQL are used. Tables are never created at run
time: ``ledger db upgrade`` (Alembic) creates them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import sqlalchemy.exc
from eventsourcing.persistence import Transcoding
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from ledger import home, settings
from ledger.messages import Message

APPLICATION_NAME = "Ledger"
EVENTS_TABLE = "ledger_events"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DateAsISO(Transcoding):
    """``datetime.date`` as ``YYYY-MM-DD`` (effective dates are dates, not times)."""

    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


#: the schemes of the URLs the ledger uses; ``postgresql://`` and ``postgres://`` are read as
#: ``postgresql+psycopg2://``
SQLITE_SCHEMES = ("sqlite",)
POSTGRESQL_SCHEMES = ("postgresql+psycopg2", "postgresql", "postgres")
ACCEPTED = "sqlite:///PATH or postgresql://USER@HOST/DBNAME (or postgresql+psycopg2://…)"


class UnusableDatabaseURL(ValueError):
    """A database URL the ledger does not use (the message names its scheme, never its
    password, and what is accepted)."""


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else ``LEDGER_DATABASE_URL``, else the SQLite file
    ``ledger.db`` in the home (``ledger/home.py``).

    Only SQLite and PostgreSQL are accepted (else :class:`UnusableDatabaseURL`);
    ``postgresql://`` is read as ``postgresql+psycopg2://``, and a relative SQLite path as
    the file of the current folder, made absolute. Nothing is created: ``ledger db upgrade
    --create`` makes a missing folder.
    """
    url = url or settings.DATABASE_URL.get() or f"sqlite:///{home.default_database()}"
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise UnusableDatabaseURL(
            Message("the database URL has no scheme: the ledger uses {accepted}", accepted=ACCEPTED)
        )
    if scheme in POSTGRESQL_SCHEMES:
        url = "postgresql+psycopg2://" + rest
    elif scheme not in SQLITE_SCHEMES:
        raise UnusableDatabaseURL(
            Message(
                "the database URL is {scheme}://…, which the ledger does not use: it uses "
                "{accepted}",
                scheme=scheme,
                accepted=ACCEPTED,
            )
        )
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise UnusableDatabaseURL(
            Message(
                "the database URL {scheme}://… cannot be read: the ledger uses {accepted}",
                scheme=scheme,
                accepted=ACCEPTED,
            )
        ) from None
    file = home.sqlite_file(url)
    if file is not None and str(file) != parsed.database:
        url = parsed.set(database=str(file)).render_as_string(hide_password=False)
    return url


def backend_name(url: str) -> str:
    return make_url(url).get_backend_name()


def event_store_env(url: str) -> dict[str, str]:
    """Environment for the eventsourcing application: SQLAlchemy persistence, no DDL."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
        "SQLALCHEMY_URL": url,
        "CREATE_TABLE": "n",
    }


def configure_engine(engine: Any) -> None:
    """Per-connection settings: SQLite waits for a lock instead of failing at once."""
    if isinstance(engine, Engine) and engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()


#: what the drivers say when a connection is lost or cannot be made (lower case)
_CONNECTION_LOST = (
    "server closed the connection",
    "terminating connection",
    "connection already closed",
    "connection is closed",
    "could not connect",
    "connection refused",
    "could not receive data",
    "could not send data",
    "no connection to the server",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "ssl syscall error",
    "ssl connection has been closed",
    "connection timed out",
    "connection reset",
    "lost synchronization with server",
    "is not currently accepting connections",
    "too many clients already",
    "remaining connection slots are reserved",
)


def is_connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database connection was lost or could
    not be made: SQLAlchemy's invalidated connection, or a driver's or the event store's
    operational/interface error with one of the drivers' words for it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error) or isinstance(
            getattr(current, "orig", None), sqlite3.Error
        ):
            return False  # SQLite has no connection to lose (a refused COMMIT drops one itself)
        if getattr(current, "connection_invalidated", False):
            return True
        if type(current).__name__ in ("OperationalError", "InterfaceError") or isinstance(
            current, sqlalchemy.exc.DBAPIError
        ):
            text = str(current).lower()
            if any(words in text for words in _CONNECTION_LOST):
                return True
        current = current.__cause__ or current.__context__
    return False
