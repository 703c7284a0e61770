"""The application's own PostgreSQL role: it can append events, never change or remove them.

On PostgreSQL this migration makes (once per cluster) a LOGIN role for ``ledger serve`` and
grants it, in this database, only what the running application needs:

- ``ledger_events`` and ``audit_checkpoints`` (append-only): SELECT, and INSERT of every
  column but ``id`` (positions come from the sequence, never from the writer); USAGE on their
  id sequences. No UPDATE, DELETE or TRUNCATE: the role is refused by its privileges, before
  the append-only triggers are even reached;
- ``idempotency_keys``: SELECT, INSERT, UPDATE, DELETE;
- every read-model table (``*_a``/``*_b``, ``projection_state``): SELECT, INSERT, UPDATE,
  DELETE and TRUNCATE (a rebuild empties its tables with TRUNCATE);
- ``alembic_version``: SELECT (``ledger serve`` checks the revision; it never migrates);
- CONNECT on this database, USAGE on the schema, and EXECUTE on ``ledger_events_lock()``.

The recorder takes ``LOCK TABLE ledger_events IN EXCLUSIVE MODE`` for every insert (gap-free
positions). PostgreSQL 15 lets only a holder of table-level UPDATE, DELETE or TRUNCATE take
that lock, so the role gets none of those: ``ledger_events_lock()`` takes it instead, a
SECURITY DEFINER function owned by the migrating user that does nothing else. A lock lasts
until the end of the caller's transaction, so the recorder calls it in the inserting
transaction, in the same round trip as its NOTIFY and duplicate check.

The role's name is ``$LEDGER_APP_ROLE`` when the migration runs (default ``nscl_app``). It
gets no password here: set one with ``ALTER ROLE nscl_app PASSWORD '…'`` (or let local
trust/peer authentication admit it). Roles belong to the cluster, not to a database, and
every database of the cluster that runs this migration shares the role: creating it is
idempotent and tolerates another database's migration creating it at the same moment. A
database administrator may also create it beforehand (then the migrating user needs no
CREATEROLE). The migration refuses a role that would still be able to change events
anyway (a superuser, the tables' owner or a member of it).

Later migrations grant their own: a new read-model table gets the read-model privileges
above, a new append-only table SELECT and INSERT only (no default privileges are set, so
nothing is granted by accident; ``tests/integration/test_app_role.py`` checks every table).

Downgrade revokes in this database only and drops the lock function; it never drops the
role, which other databases of the cluster may use (``DROP ROLE nscl_app`` by hand once no
database does).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from ledger import settings

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LOCK_FUNCTION = "ledger_events_lock"
EVENTS = "ledger_events"
#: tables the role may read and append to, never change
APPEND_ONLY = (EVENTS, "audit_checkpoints")
#: tables the role may only read
READ_ONLY = ("alembic_version",)
#: the application's working tables that are not read models (never truncated)
WORKING = ("idempotency_keys",)
APPEND = "SELECT"  # and INSERT of the columns other than ``id``
READ = "SELECT"
WORK = "SELECT, INSERT, UPDATE, DELETE"
READ_MODEL = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"
#: privileges that change or remove rows: the role must hold none on an append-only table
CHANGING = ("UPDATE", "DELETE", "TRUNCATE")


def app_role() -> str:
    """The role's name: ``$LEDGER_APP_ROLE``, else ``nscl_app``; a plain lower-case name
    (see :mod:`ledger.settings`)."""
    return settings.APP_ROLE.get()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_read_model(bind: sa.Connection, names: list[str]) -> None:
    """Give the application's role, if it exists, the read-model privileges (and only those)
    on the tables ``names`` made by a later revision. SQLite has no roles: nothing to do."""
    if bind.dialect.name != "postgresql":
        return
    role = app_role()
    exists = bind.execute(
        sa.text("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar_one()
    if not exists:
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    q_role, q_schema = _ident(role), _ident(schema)
    for name in names:
        q_table = f"{q_schema}.{_ident(name)}"
        op.execute(f"REVOKE ALL ON TABLE {q_table} FROM {q_role}")
        op.execute(f"GRANT {READ_MODEL} ON TABLE {q_table} TO {q_role}")


def _tables(bind: sa.Connection, schema: str) -> list[str]:
    return sorted(sa.inspect(bind).get_table_names(schema=schema))


def _sequences(bind: sa.Connection, schema: str) -> list[str]:
    return sorted(sa.inspect(bind).get_sequence_names(schema=schema))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite has no roles: whoever can open the file can change it
    role = app_role()
    schema, database = bind.execute(sa.text("SELECT current_schema(), current_database()")).one()
    q_role, q_schema = _ident(role), _ident(schema)

    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {q_role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                    NOBYPASSRLS;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database's migration created it at the same moment
        END
        $$
        """
    )
    op.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {q_role}")
    op.execute(f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}")

    for table in _tables(bind, schema):
        q_table = f"{q_schema}.{_ident(table)}"
        op.execute(f"REVOKE ALL ON TABLE {q_table} FROM {q_role}")
        if table in APPEND_ONLY:
            columns = [c["name"] for c in sa.inspect(bind).get_columns(table, schema=schema)]
            insertable = ", ".join(_ident(c) for c in columns if c != "id")
            op.execute(f"GRANT {APPEND} ON TABLE {q_table} TO {q_role}")
            op.execute(f"GRANT INSERT ({insertable}) ON TABLE {q_table} TO {q_role}")
        elif table in READ_ONLY:
            op.execute(f"GRANT {READ} ON TABLE {q_table} TO {q_role}")
        elif table in WORKING:
            op.execute(f"GRANT {WORK} ON TABLE {q_table} TO {q_role}")
        else:
            op.execute(f"GRANT {READ_MODEL} ON TABLE {q_table} TO {q_role}")
    for sequence in _sequences(bind, schema):  # nextval for inserts; no setval
        q_sequence = f"{q_schema}.{_ident(sequence)}"
        op.execute(f"REVOKE ALL ON SEQUENCE {q_sequence} FROM {q_role}")
        op.execute(f"GRANT USAGE ON SEQUENCE {q_sequence} TO {q_role}")

    op.execute(
        f"""
        CREATE FUNCTION {q_schema}.{LOCK_FUNCTION}() RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            -- the recorder's lock for gap-free positions; held until the caller's
            -- transaction ends. It needs UPDATE, DELETE or TRUNCATE, which the role lacks.
            LOCK TABLE {q_schema}.{_ident(EVENTS)} IN EXCLUSIVE MODE;
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {q_schema}.{LOCK_FUNCTION}() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {q_schema}.{LOCK_FUNCTION}() TO {q_role}")

    _refuse_if_it_can_change_events(bind, role, schema)


def _refuse_if_it_can_change_events(bind: sa.Connection, role: str, schema: str) -> None:
    """Fail the migration if the role can still change or remove an append-only table's
    rows: a superuser, the tables' owner or a member of it, or privileges given to PUBLIC."""
    for table in APPEND_ONLY:
        for privilege in CHANGING:
            held = bind.execute(
                sa.text("SELECT has_table_privilege(:role, :table, :privilege)"),
                {
                    "role": role,
                    "table": f"{_ident(schema)}.{_ident(table)}",
                    "privilege": privilege,
                },
            ).scalar_one()
            if held:
                raise RuntimeError(
                    f"The role {role!r} ({settings.APP_ROLE.name}) still holds {privilege} on "
                    f"{table} (a superuser, the tables' owner or a member of it, or a grant to "
                    "PUBLIC): choose a role that only the application uses."
                )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    role = app_role()
    schema, database = bind.execute(sa.text("SELECT current_schema(), current_database()")).one()
    q_schema = _ident(schema)
    op.execute(f"DROP FUNCTION IF EXISTS {q_schema}.{LOCK_FUNCTION}()")
    exists = bind.execute(
        sa.text("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar_one()
    if not exists:
        return
    q_role = _ident(role)
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {q_schema} FROM {q_role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q_schema} FROM {q_role}")
    op.execute(f"REVOKE ALL ON SCHEMA {q_schema} FROM {q_role}")
    op.execute(f"REVOKE ALL ON DATABASE {_ident(database)} FROM {q_role}")
