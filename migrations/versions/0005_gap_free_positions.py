"""Positions without holes under any fault, and the record of holes made before.

PostgreSQL: an event's position came from the ``ledger_events_id_seq`` sequence, and a
sequence is not transactional: a transaction rolled back (a lost race, an idempotency key
taken by a concurrent request) or killed after taking a number left a hole for ever, and a
hole in a Merkle log reads as a deleted event. From here on the position is given by a
``BEFORE INSERT`` trigger, ``ledger_events_position()``: the position after the last event
or recorded hole, read in the inserting transaction under the recorder's table lock (taken
for every insert, see ``ledger/recorder.py``). It rolls back with the transaction, so no
rolled-back, failed or killed transaction leaves anything behind. A writer that supplies a
position itself (the import) must supply exactly that one, or the insert is refused. The
sequence is dropped. (A writer that bypassed the recorder's lock would compute the same
next position as a concurrent one and be refused by the primary key, never leave a hole.)

SQLite needs no change for this: its AUTOINCREMENT counter lives in a table and rolls back
with the transaction.

Both: ``log_gaps`` records holes found in a log written before this migration (``ledger db
record-gaps``, see ``ledger/log_gaps.py``); append-only, like the events table. The
application's role (migration 0004) may read it, not write it: recording a hole is an
operator's act.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from ledger.log_gaps import log_gaps
from migrations import append_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

EVENTS = "ledger_events"
GAPS = "log_gaps"
POSITION_FUNCTION = "ledger_events_position"
#: tables this migration adds that the application's role may only read
READ_ONLY = (GAPS,)
MESSAGE = "log_gaps is append-only: a recorded hole is never changed or removed"

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def upgrade() -> None:
    bind = op.get_bind()
    log_gaps.create(bind)
    append_only.install(GAPS, MESSAGE)
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    q_events = f"{_ident(schema)}.{_ident(EVENTS)}"
    q_gaps = f"{_ident(schema)}.{_ident(GAPS)}"
    sequence = bind.execute(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": q_events}
    ).scalar()
    op.execute(f"ALTER TABLE {q_events} ALTER COLUMN id DROP DEFAULT")
    if sequence is not None:
        op.execute(f"DROP SEQUENCE {sequence}")
    op.execute(
        f"""
        CREATE FUNCTION {_ident(schema)}.{POSITION_FUNCTION}() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        DECLARE
            next_position bigint;
        BEGIN
            -- in the inserting transaction, under the recorder's table lock: the position
            -- after the last event or recorded hole, which a rollback gives back
            SELECT greatest(
                (SELECT coalesce(max(id), 0) FROM {q_events}),
                (SELECT coalesce(max(position), 0) FROM {q_gaps})
            ) + 1 INTO next_position;
            IF NEW.id IS NULL THEN
                NEW.id := next_position;
            ELSIF NEW.id <> next_position THEN
                RAISE EXCEPTION 'ledger_events: position % would leave a hole or reorder the '
                    'log; the next position is %', NEW.id, next_position
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {EVENTS}_position BEFORE INSERT ON {q_events} "
        f"FOR EACH ROW EXECUTE FUNCTION {_ident(schema)}.{POSITION_FUNCTION}()"
    )
    role = _APP_ROLE.app_role()
    exists = bind.execute(
        sa.text("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar_one()
    if exists:
        op.execute(f"REVOKE ALL ON TABLE {q_gaps} FROM {_ident(role)}")
        op.execute(f"GRANT SELECT ON TABLE {q_gaps} TO {_ident(role)}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(log_gaps)).scalar_one():
        raise RuntimeError(
            "log_gaps holds recorded holes: a downgrade past 0005 would lose them; refused."
        )
    if bind.dialect.name == "postgresql":
        schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
        q_events = f"{_ident(schema)}.{_ident(EVENTS)}"
        op.execute(f"DROP TRIGGER {EVENTS}_position ON {q_events}")
        op.execute(f"DROP FUNCTION {_ident(schema)}.{POSITION_FUNCTION}()")
        sequence = f"{_ident(schema)}.{_ident(EVENTS + '_id_seq')}"
        op.execute(f"CREATE SEQUENCE {sequence} OWNED BY {q_events}.id")
        op.execute(f"SELECT setval('{sequence}', coalesce(max(id), 0) + 1, false) FROM {q_events}")
        op.execute(f"ALTER TABLE {q_events} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        role = _APP_ROLE.app_role()
        exists = bind.execute(
            sa.text("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = :role"),
            {"role": role},
        ).scalar_one()
        if exists:
            op.execute(f"GRANT USAGE ON SEQUENCE {sequence} TO {_ident(role)}")
    append_only.uninstall(GAPS)
    log_gaps.drop(bind)
