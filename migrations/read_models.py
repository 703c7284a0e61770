"""What the revisions that change a read model do: make its tables again from their
definitions, drop tables a downgrade takes away, and reset a projection's tracking row so
that the next catch-up folds the whole log into it.

A read model holds nothing the log does not: dropping its tables loses nothing, and the
follower (``ledger serve``) or ``ledger projections catch-up`` refills them.
"""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa

from projections.base import SETS
from projections.registry import BY_NAME, all_tables
from projections.state import projection_state

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")


def set_tables(*projections: str) -> list[str]:
    """The names of every table of ``projections``, in both table sets."""
    return [f"{d.name}_{s}" for name in projections for d in BY_NAME[name].TABLES for s in SETS]


def remake(bind: sa.Connection, names: list[str]) -> None:
    """Drop the tables ``names`` where they exist, make them again from their definitions,
    and give the application's role read-model privileges on them (migration 0004)."""
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    tables = [metadata.tables[name] for name in names]
    for table in tables:
        if table.name in existing:
            table.drop(bind)
    metadata.create_all(bind, tables=tables)
    _APP_ROLE.grant_read_model(bind, names)


def drop(bind: sa.Connection, names: list[str]) -> None:
    """Drop the tables ``names`` where they exist."""
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    for name in names:
        if name in existing:
            metadata.tables[name].drop(bind)


def reset(bind: sa.Connection, *projections: str) -> None:
    """Set ``projections``' tracking rows to nothing folded, on set ``a``."""
    bind.execute(
        sa.update(projection_state)
        .where(projection_state.c.name.in_(projections))
        .values(
            active_set="a", position=0, rebuild_set=None, rebuild_position=None, last_error=None
        )
    )


def forget(bind: sa.Connection, projection: str) -> None:
    """Delete ``projection``'s tracking row (a downgrade that removes the projection)."""
    bind.execute(sa.delete(projection_state).where(projection_state.c.name == projection))
