"""Migration 0009 on a database migrated to 0008 with events in it and the audit trail in its
old shape folded (no actors' names): the trail is made again with its users register and, at
the next catch-up, folds the whole log anew with every actor's name as it was then, on both
databases; on PostgreSQL the application's role may use the tables made."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command

import migrations
from api.cli import head_revision
from ledger.service import Ledger
from migrations import alembic_config
from projections import audit_trail
from projections.check import check
from projections.projector import Projector
from projections.state import projection_state
from tests.support.people import People
from tests.support.renames import Renamed

OLD_TRAIL = """CREATE TABLE {name} (position BIGINT NOT NULL PRIMARY KEY,
    recorded_at TIMESTAMP NOT NULL, effective_date DATE NOT NULL,
    record_type VARCHAR(32) NOT NULL, record_id {uuid} NOT NULL, event_type VARCHAR(64) NOT NULL,
    actor VARCHAR(64) NOT NULL, department VARCHAR(32) NOT NULL, amounts JSON NOT NULL,
    "references" JSON NOT NULL, summary TEXT NOT NULL, leaf_hash VARCHAR(64))"""


def test_upgrading_a_database_of_0008_with_events_names_the_actors_of_the_past(
    database_url: str, people: People, ledger: Ledger
) -> None:
    # Step 1: the database as 0008 left it: a user renamed and moved between events, and the
    # audit trail in its old shape (no actor_name, no users register), folded to the head.
    renamed = Renamed(ledger, people).build()
    head = ledger.position()
    command.downgrade(alembic_config(database_url), "0008")
    assert migrations.current(database_url) == "0008"
    engine = sa.create_engine(database_url)
    uuid = "UUID" if engine.dialect.name == "postgresql" else "CHAR(32)"
    with engine.begin() as connection:
        names = set(sa.inspect(connection).get_table_names())
        assert not {"audit_trail_people_a", "audit_trail_people_b"} & names
        for table in ("audit_trail_a", "audit_trail_b"):
            connection.execute(sa.text(f"DROP TABLE {table}"))
            connection.execute(sa.text(OLD_TRAIL.format(name=table, uuid=uuid)))
        connection.execute(sa.delete(projection_state))
        connection.execute(
            sa.insert(projection_state),
            [{"name": "audit_trail", "active_set": "b", "position": head}],
        )

    # Step 2: the upgrade makes the trail's tables again, its register too, and resets it.
    migrations.upgrade(database_url)
    assert migrations.current(database_url) == head_revision(database_url) == "0009"
    inspector = sa.inspect(engine)
    for table in ("audit_trail_a", "audit_trail_b"):
        assert "actor_name" in {c["name"] for c in inspector.get_columns(table)}, table
    assert {"audit_trail_people_a", "audit_trail_people_b"} <= set(inspector.get_table_names())
    with engine.connect() as connection:
        tracking = connection.execute(
            sa.select(
                projection_state.c.name, projection_state.c.active_set, projection_state.c.position
            )
        ).all()
        assert tracking == [("audit_trail", "a", 0)]
        if engine.dialect.name == "postgresql":
            role = os.environ.get("LEDGER_APP_ROLE", "nscl_app")
            for table in ("audit_trail_a", "audit_trail_people_b"):
                held = connection.execute(
                    sa.text("SELECT has_table_privilege(:role, :table, 'INSERT')"),
                    {"role": role, "table": table},
                ).scalar_one()
                assert held, f"the application's role may use {table}"
    engine.dispose()

    # Step 3: the next catch-up folds the whole log: each of the officer's events names them
    # as they were then; everything reconciles.
    projector = Projector(ledger)
    assert projector.catch_up() == head
    with projector.reading(audit_trail.NAME) as (connection, tables, _):
        rows, _next = audit_trail.report(connection, tables, page_size=500)
    shown = {r["position"]: (r["actor_name"], r["department"]) for r in rows}
    assert {p: shown[p] for p in renamed.expected} == renamed.expected
    assert all(r["actor_name"] for r in rows)
    assert check(ledger, projector) == []
