"""One transaction per command: how a unit of work runs, is rerun and is refused.

Every command of :class:`ledger.service.Ledger` runs as one unit of work: the aggregates it
loads, the events it saves and (over HTTP) its idempotency key's row commit together in one
database transaction, or nothing does. What can go wrong, and what happens then:

- another writer saved one of the same aggregates first (optimistic concurrency: the
  store's unique (id, version) index refuses the insert): the transaction is rolled back and
  the work rerun from fresh state, up to :data:`MAX_ATTEMPTS` times, then
  ``concurrency_conflict``;
- SQLite refuses a COMMIT: locked, the work is rerun; anything else (a full disk) is
  ``storage_failed``. A refused COMMIT leaves the transaction open on its connection, which
  SQLAlchemy would hand out again with the refused writes pending; the engine's
  ``handle_error`` hook (:func:`drop_refused_commits`) drops that connection instead and
  notes the failure here;
- the database connection is lost (PostgreSQL: terminated, restarted, the network): before
  COMMIT, the work is rerun once on a fresh connection; during COMMIT, a fresh connection
  looks whether its events were stored (then the work's answer is the answer) and reruns it
  if not; past that, ``storage_unavailable``.

A refusal that a budget year or support rule served from memory may have decided
(``period_closed``, ``rule_violation``; ``ledger/repository.py``, settled aggregates) is not
given until the work has run once more on fresh reads: memory may hold a year since reopened
or a rule since superseded.

Nested units join the outer one (and its reruns): a command's work may call another
command's service method.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast
from uuid import UUID

import sqlalchemy.exc
from eventsourcing.persistence import IntegrityError, OperationalError
from sqlalchemy import Table, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ledger.errors import (
    ConcurrencyConflict,
    PeriodClosed,
    RuleViolation,
    StorageFailed,
    StorageUnavailable,
)
from ledger.messages import Message
from ledger.persistence import is_connection_lost
from ledger.repository import settled_reads, unit_of_work_scope

T = TypeVar("T")

#: the refusals a budget year or support rule served from memory can decide
DECIDED_ON_MEMORY = (PeriodClosed, RuleViolation)

#: how many times a unit of work runs before it is refused as ``concurrency_conflict``
MAX_ATTEMPTS = 40

_in_unit_of_work: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "ledger_unit_of_work", default=False
)
_attempt: contextvars.ContextVar[int] = contextvars.ContextVar("ledger_attempt", default=0)

#: the commit that failed in this thread, if any (see :func:`drop_refused_commits`)
_failed_commits = threading.local()

_NOT_DONE = object()


def in_unit_of_work() -> bool:
    """Whether a unit of work runs in this context (its transaction holds SQLite's writer)."""
    return _in_unit_of_work.get()


def attempt() -> int:
    """Which run of the current unit of work this is (0: the first)."""
    return _attempt.get()


def drop_refused_commits(engine: Any) -> None:
    """On SQLite, drop the connection of a COMMIT the database refused (closing it rolls the
    refused writes back) and note the failure for :meth:`UnitOfWork.session`."""
    if isinstance(engine, Engine) and engine.dialect.name == "sqlite":

        @event.listens_for(engine, "handle_error")
        def _drop_a_refused_commit(context: Any) -> None:
            if context.statement is None and context.connection is not None:  # a COMMIT
                _failed_commits.error = context.original_exception
                context.is_disconnect = True


def take_failed_commit() -> BaseException | None:
    """The error of a commit that failed in this thread since the last call (and forget it)."""
    error: BaseException | None = getattr(_failed_commits, "error", None)
    _failed_commits.error = None
    return error


class UnitOfWork:
    """Runs units of work on one event store (the library's datastore and events table)."""

    def __init__(self, datastore: Any, events_table: Table) -> None:
        self.datastore = datastore
        self.events_table = events_table
        #: units of work rerun after losing an optimistic-concurrency race (for operators)
        self.retries = 0

    @contextmanager
    def session(self) -> Iterator[Session]:
        """The session of the current unit of work (or a new write transaction).

        A COMMIT the database refuses leaves nothing behind and is never reported as a
        success: a locked database is raised as the library's ``OperationalError`` (the unit
        of work runs again), anything else (a full disk, say) as :class:`StorageFailed`."""
        take_failed_commit()
        try:
            with self.datastore.transaction(commit=True) as session:
                yield session
        except (OperationalError, sqlalchemy.exc.OperationalError) as error:
            failed = take_failed_commit()
            if failed is not None and not _is_transient(failed):
                raise _not_stored(failed) from error
            raise
        failed = take_failed_commit()
        if failed is not None:  # were a library to swallow it
            if _is_transient(failed):
                raise OperationalError(f"the commit failed: {failed}")
            raise _not_stored(failed)

    def execute(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one transaction, rerun as this module says."""
        if _in_unit_of_work.get():
            return work()
        reconnected = False
        for run in range(MAX_ATTEMPTS):
            token = _in_unit_of_work.set(True)
            attempt_token = _attempt.set(run)
            done: Any = _NOT_DONE
            try:
                with unit_of_work_scope() as saved:
                    try:
                        with self.session():
                            done = work()
                        return cast(T, done)
                    except Exception as error:
                        if run == 0 and isinstance(error, DECIDED_ON_MEMORY) and settled_reads():
                            continue  # decided on memory: decide again on fresh reads
                        if not is_connection_lost(error):
                            raise
                        if done is not _NOT_DONE and self._stored(saved, error):
                            return cast(T, done)  # COMMIT went through; its answer was lost
                        if reconnected:
                            raise StorageUnavailable() from error
                        reconnected = True
                        continue
            except (IntegrityError, sqlalchemy.exc.IntegrityError):
                pass
            except (OperationalError, sqlalchemy.exc.OperationalError) as error:
                if not _is_transient(error):
                    raise
            finally:
                _in_unit_of_work.reset(token)
                _attempt.reset(attempt_token)
            self.retries += 1
            time.sleep(random.uniform(0, 0.002 * (run + 1)))
        raise ConcurrencyConflict(
            Message(
                "Other writers kept changing the same records; nothing was written. Please try "
                "again."
            )
        )

    def read(self, query: Callable[[], T]) -> T:
        """Run ``query`` (which writes nothing); if the database connection was lost, once
        more on a fresh connection; past that, :class:`StorageUnavailable` (503)."""
        try:
            return query()
        except Exception as error:
            if not is_connection_lost(error):
                raise
        try:
            return query()
        except Exception as error:
            if not is_connection_lost(error):
                raise
            raise StorageUnavailable() from error

    def _stored(self, saved: dict[UUID, Any], lost: BaseException) -> bool:
        """Whether the aggregates a unit of work saved were stored as saved (its COMMIT went
        through although the connection was lost before its answer came back). Asked on a
        fresh connection; if the database cannot be asked either, nothing can be said:
        :class:`StorageUnavailable` says so."""
        if not saved:
            return False
        aggregate = next(iter(saved.values()))
        t = self.events_table
        query = select(t.c.id).where(
            t.c.originator_id == aggregate.id, t.c.originator_version == aggregate.version
        )
        try:
            with self.datastore.engine.connect() as connection:
                return connection.execute(query).first() is not None
        except Exception as error:
            if not is_connection_lost(error):
                raise
            raise StorageUnavailable(
                Message(
                    "The connection to the database was lost while the change was being "
                    "committed, and the database cannot be reached to tell whether it was "
                    "stored: look before sending it again (an Idempotency-Key makes sending it "
                    "again safe)."
                )
            ) from lost


def _not_stored(failed: BaseException) -> StorageFailed:
    return StorageFailed(
        Message(
            "The database did not store the change ({failed}); nothing was written. Please "
            "try again once the server's storage is fixed.",
            failed=failed,
        )
    )


def _is_transient(error: BaseException) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "could not serialize" in text or "deadlock" in text
