"""An application's history (``GET /api/applications/{id}/history``): every event, oldest
first, as it was recorded, with the RFC 9162 leaf hash of its stored row and what it changed
in the application's state, and who recorded it: the actor's id, department and, for a reader
who may read personnel data, name, as they were when the event was recorded (the users
register, ``ledger/people.py``: a later rename or move does not change them).

One query reads the application's rows; each is decoded by the ledger's mapper and folded by
the repository's own projector, so the state after the last event is the one
``Ledger.get_application`` answers (both are the application's ``as_dict()``), and each
entry's ``changes`` is the difference between the states before and after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from copy import deepcopy
from typing import Any, TypeGuard
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from sqlalchemy import Engine, Table, select

from ledger.base import LedgerAggregate
from ledger.catalogue import department_name
from ledger.errors import NotFound
from ledger.merkle import event_leaf_hash
from ledger.people import UsersRegister
from ledger.support_application import SupportApplication
from ledger.vocabulary import not_found


def application_history(
    engine: Engine,
    events_table: Table,
    mapper: Mapper[UUID],
    application_id: UUID,
    people: Callable[[int, set[str]], UsersRegister] | None = None,
) -> list[dict[str, Any]]:
    """Every event of an application, oldest first (README, "HTTP API"), each with the RFC 9162 leaf
    hash of its stored row and what it changed in the application's state: read from the
    event store's ``events_table`` on ``engine``, decoded by its ``mapper``. ``people(upto,
    actors)`` gives the users register of ``actors`` up to a position, which names them
    (without it, no names: ``actor_name`` is null)."""
    table = events_table
    query = (
        select(
            table.c.id,
            table.c.originator_id,
            table.c.originator_version,
            table.c.topic,
            table.c.state,
        )
        .where(table.c.originator_id == application_id)
        .order_by(table.c.originator_version)
    )
    with engine.connect() as connection:
        rows = list(connection.execute(query))
    history: list[dict[str, Any]] = []
    application: Aggregate | None = None
    before: dict[str, Any] | None = None
    for row in rows:
        stored = StoredEvent(application_id, row.originator_version, row.topic, bytes(row.state))
        domain_event = mapper.to_domain_event(stored)
        application = project_aggregate(application, [domain_event])
        if not isinstance(application, SupportApplication):
            break
        after = deepcopy(application.as_dict())
        entry = _history_row(row, domain_event)
        entry["changes"] = _state_changes(before, after)
        history.append(entry)
        before = after
    if not history or not isinstance(application, SupportApplication):
        raise NotFound(not_found("application", application_id))
    if people is not None:
        register = people(history[-1]["position"], {e["actor"] for e in history})
        for entry in history:
            person = register.at(entry["actor"], entry["position"])
            entry["actor_name"] = person.name if person is not None else None
    return history


def _history_row(row: Any, domain_event: object) -> dict[str, Any]:
    assert isinstance(domain_event, LedgerAggregate.Event)
    skip = {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "department",
        "effective_date",
    }
    data = {k: _jsonable(v) for k, v in vars(domain_event).items() if k not in skip}
    leaf = event_leaf_hash(
        row.originator_id, row.originator_version, row.id, bytes(row.state), row.topic
    )
    return {
        "position": row.id,
        "recorded_at": domain_event.timestamp.isoformat(),
        "effective_date": domain_event.effective_date.isoformat(),
        "type": type(domain_event).__name__,
        "actor": domain_event.actor,
        "actor_name": None,
        "department": domain_event.department,
        "department_name": department_name(domain_event.department),
        "data": data,
        "leaf_hash": leaf.hex(),
    }


#: fields of the application's state that every event changes, so no change names them
_NOT_CHANGES = frozenset({"version"})


def _state_changes(
    before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """What one event changed, as ``{path: {"from": old, "to": new}}`` (only what changed).

    ``before`` is ``None`` for the first event: every field was null. A path is a field of
    the state; for a list of items with ids (``disbursements``, ``recoveries``) it is
    ``field[<id>]`` for an item added (``from`` null) or removed (``to`` null) and
    ``field[<id>].name`` for one value of an item that changed (e.g. ``reversed``).
    """
    old_state = before or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in [*after, *(k for k in old_state if k not in after)]:
        if name in _NOT_CHANGES:
            continue
        old, new = old_state.get(name), after.get(name)
        if old == new:
            continue
        if _is_item_list(old) and _is_item_list(new):
            changes.update(_item_changes(name, old, new))
        else:
            changes[name] = {"from": old, "to": new}
    return changes


def _is_item_list(value: Any) -> TypeGuard[list[dict[str, Any]]]:
    return isinstance(value, list) and all(isinstance(i, dict) and "id" in i for i in value)


def _item_changes(
    name: str, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    old_items = {str(i["id"]): i for i in old}
    new_items = {str(i["id"]): i for i in new}
    changes: dict[str, dict[str, Any]] = {}
    for item_id in [*new_items, *(k for k in old_items if k not in new_items)]:
        was, now = old_items.get(item_id), new_items.get(item_id)
        if was is None or now is None:
            changes[f"{name}[{item_id}]"] = {"from": was, "to": now}
            continue
        for key in [*now, *(k for k in was if k not in now)]:
            if was.get(key) != now.get(key):
                changes[f"{name}[{item_id}].{key}"] = {"from": was.get(key), "to": now.get(key)}
    return changes


def _jsonable(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
