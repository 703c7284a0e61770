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


@contextmanager
def unit_of_work_scope() -> Iterator[dict[UUID, Any]]:
    """Mark the start and end of one attempt at a unit of work; give the aggregates it saves
    (by id, as saved: each one's ``version`` is its last event's)."""
    saved: dict[UUID, Any] = {}
    token = _saved_in_unit.set(saved)
    try:
        yield saved
    finally:
        _saved_in_unit.reset(token)


def note_saved(aggregates: Iterable[object]) -> None:
    saved = _saved_in_unit.get()
    if saved is not None:
        saved.update((a.id, a) for a in aggregates if isinstance(a, Aggregate))


class CommittedStateRepository(Repository[UUID]):
    def __init__(self, *args: Any, cache_size: int, **kwargs: Any) -> None:
        super().__init__(*args, cache_maxsize=None, **kwargs)
        self._committed: OrderedDict[UUID, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

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
