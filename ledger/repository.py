"""The repository: aggregates from the store, through a cache that only holds committed state.

Replaying a busy budget line from its first event on every command would grow without end,
so recently used aggregates stay in memory. Three rules keep that cache honest:

* every get fast-forwards: it reads the events recorded after the cached version (one indexed
  query), so a copy in memory is never older than the store;
* cached objects are never changed: a get copies, brings the copy up to date outside any
  lock and puts it back only if it is newer, so threads sharing one ledger never see a
  half-applied event, and no thread holds a lock while it waits for the database;
* inside a unit of work, an aggregate that unit has already saved is served from that unit's
  own copy and never enters the shared cache: what a unit has not committed (and may roll
  back) is seen by nobody else.

A few aggregates are read by almost every command and change a few times a year: the budget
years (is the command's year closed?) and the support rules (an approval's cap). Reading
them from the store on every command cost a query each (a fifth of a command's time on
PostgreSQL). :meth:`CommittedStateRepository.get_settled` serves them from memory without
asking the store, and notes the version it served in the unit of work; before the unit's
events are inserted, under the events table's lock, the recorder checks that none of those
aggregates has gained an event since (``ledger/recorder.py``). If one has, nothing is
written and the unit of work runs again, reading them from the store. So a command is never
decided on a stale year or rule: what is checked under the lock is what the insert relies on.
"""

from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate

#: the aggregates saved (not yet committed) by the current unit of work, by id
_saved_in_unit: contextvars.ContextVar[dict[UUID, Any] | None] = contextvars.ContextVar(
    "ledger_saved_in_unit", default=None
)


#: the settled aggregates the current unit of work was served from memory: id → version
#: served (0: served as not existing); checked under the lock before its events are inserted
_settled_in_unit: contextvars.ContextVar[dict[UUID, int] | None] = contextvars.ContextVar(
    "ledger_settled_in_unit", default=None
)


@contextmanager
def unit_of_work_scope() -> Iterator[dict[UUID, Any]]:
    """Mark the start and end of one attempt at a unit of work; give the aggregates it saves
    (by id, as saved: each one's ``version`` is its last event's)."""
    saved: dict[UUID, Any] = {}
    token = _saved_in_unit.set(saved)
    settled_token = _settled_in_unit.set({})
    try:
        yield saved
    finally:
        _settled_in_unit.reset(settled_token)
        _saved_in_unit.reset(token)


def note_saved(aggregates: Iterable[object]) -> None:
    saved = _saved_in_unit.get()
    if saved is not None:
        saved.update((a.id, a) for a in aggregates if isinstance(a, Aggregate))
    settled = _settled_in_unit.get()
    if settled:
        for a in aggregates:
            if isinstance(a, Aggregate) and a.id in settled:
                settled[a.id] = a.version  # its own events are not a change by another


def settled_reads() -> dict[UUID, int]:
    """The settled aggregates the current unit of work was served from memory (id → the
    version served, 0 for one served as not existing), for the recorder to check."""
    return dict(_settled_in_unit.get() or {})


class CommittedStateRepository(Repository[UUID]):
    def __init__(self, *args: Any, cache_size: int, **kwargs: Any) -> None:
        super().__init__(*args, cache_maxsize=None, **kwargs)
        self._committed: OrderedDict[UUID, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        #: settled aggregates as last read from the store (None: did not exist)
        self._settled: dict[UUID, Any] = {}

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        saved = _saved_in_unit.get()
        if version is None and saved and aggregate_id in saved:
            return deepcopy(saved[aggregate_id])
        if version is not None or self._cache_size <= 0 or (saved and aggregate_id in saved):
            return self._reconstruct_aggregate(aggregate_id, version, projector_func)
        with self._lock:
            cached = self._committed.get(aggregate_id)
        if cached is None:
            aggregate = self._reconstruct_aggregate(aggregate_id, None, projector_func)
        else:
            newer = self.event_store.get(originator_id=aggregate_id, gt=cached.version)
            aggregate = projector_func(deepcopy(cached), newer)
            if aggregate is None:
                raise AggregateNotFoundError(aggregate_id)
            if aggregate.version == cached.version:
                return aggregate
        self._remember(aggregate_id, deepcopy(aggregate))
        return aggregate

    def _remember(self, aggregate_id: UUID, aggregate: Any) -> None:
        with self._lock:
            cached = self._committed.get(aggregate_id)
            if cached is None or cached.version < aggregate.version:
                self._committed[aggregate_id] = aggregate
            self._committed.move_to_end(aggregate_id)
            while len(self._committed) > self._cache_size:
                self._committed.popitem(last=False)

    def get_settled(self, aggregate_id: UUID, *, fresh: bool = False) -> Any | None:
        """A settled aggregate (one that changes rarely and is read by many commands), or
        None if it does not exist. Inside a unit of work it is served from memory and the
        version served is noted for the check under the lock (see the module's docstring);
        ``fresh`` (a rerun) or outside a unit of work, it is read from the store."""
        saved = _saved_in_unit.get()
        if saved and aggregate_id in saved:
            return deepcopy(saved[aggregate_id])
        settled = _settled_in_unit.get()
        with self._lock:
            known = aggregate_id in self._settled
            aggregate = self._settled.get(aggregate_id)
        if fresh or settled is None or not known:
            try:
                aggregate = self.get(aggregate_id)
            except AggregateNotFoundError:
                aggregate = None
            with self._lock:
                old = self._settled.get(aggregate_id)
                if old is None or (aggregate is not None and aggregate.version > old.version):
                    self._settled[aggregate_id] = deepcopy(aggregate)
        else:
            aggregate = deepcopy(aggregate)
        if settled is not None:
            settled[aggregate_id] = 0 if aggregate is None else aggregate.version
        return aggregate

    def forget_settled(self, aggregate_ids: Iterable[UUID]) -> None:
        """Drop settled aggregates a unit of work is saving, so the next reader reads them
        from the store (not a stale copy it would have to be rerun for)."""
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._settled.pop(aggregate_id, None)
