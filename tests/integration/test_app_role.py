"""The application's own PostgreSQL role (migration 0004; ARCHITECTURE.md "Storage"): connected as
that role, the ledger runs every kind of work the server does (commands under the recorder's
table lock, live follow, catch-up, rebuild, checkpoints, idempotency keys), but the role
itself is refused any change to the events and the signed checkpoints: by its privileges,
before the append-only triggers are reached. And the migration, which makes a cluster-wide
role, runs in any number of databases of the cluster, at the same time too.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

import migrations
from api.app import create_app
from api.cli import require_migrated
from ledger import settings
from ledger.service import Ledger
from projections import checkpoints
from projections.projector import Projector
from tests.support.concurrency import writers_do_not_queue
from tests.support.databases import PostgresDatabases
from tests.support.http import read_side_of
from tests.support.people import grant_people
from tests.support.story import Story

MIGRATION: Any = importlib.import_module("migrations.versions.0004_app_role")
#: later migrations' tables the role may only read
READ_ONLY = (
    *MIGRATION.READ_ONLY,
    *importlib.import_module("migrations.versions.0005_gap_free_positions").READ_ONLY,
)
ROLE: str = MIGRATION.app_role()
INSUFFICIENT_PRIVILEGE = "42501"
ROOT = Path(__file__).resolve().parents[2]


def as_role(url: str, role: str = ROLE) -> str:
    """The same database, logged in as ``role`` (trust authentication on 127.0.0.1 here)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture
def owner(pg_url: str) -> Iterator[sa.Engine]:
    """The migrating user (the tables' owner), on the test database."""
    engine = sa.create_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app_ledger(pg_url: str) -> Iterator[Ledger]:
    """The ledger as the server runs it when logged in as the application's role."""
    ledger = Ledger(as_role(pg_url))
    yield ledger
    ledger.engine.dispose()


def positions(engine: sa.Engine) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.execute(sa.text("SELECT id FROM ledger_events ORDER BY id")).scalars()
        )


def test_the_ledger_connects_as_the_role_and_not_as_the_owner(app_ledger: Ledger) -> None:
    with app_ledger.engine.connect() as connection:
        user, superuser = connection.execute(
            sa.text("SELECT current_user, current_setting('is_superuser')")
        ).one()
    assert (user, superuser) == (ROLE, "off")


def test_the_role_records_commands_folds_rebuilds_and_signs_checkpoints(
    app_ledger: Ledger, owner: sa.Engine
) -> None:
    # Step 1: commands, several events per transaction, each insert under the table lock.
    story = Story(app_ledger, grant_people(app_ledger))
    story.budget(100_000_000)
    enterprise_id = story.enterprise()
    assert app_ledger.get_enterprise(enterprise_id)["id"] == str(enterprise_id)
    story.settled(city=60_000_000, paid=60_000_000)
    head = app_ledger.position()
    assert head == app_ledger.count_events() > 20
    assert positions(owner) == list(range(1, head + 1))  # gap-free

    # Step 2: the projections catch up from their tracking rows.
    projector = Projector(app_ledger)
    assert projector.catch_up() == head
    assert {(s.position, s.lag, s.last_error) for s in projector.status()} == {(head, 0, None)}
    caught_up = {name: projector.snapshot(name) for name in projector.classes}

    # Step 3: a rebuild truncates the other table set, refills it and switches readers to it.
    assert projector.rebuild() == head
    status = projector.status()
    assert {(s.position, s.active_set, s.rebuilding) for s in status} == {(head, "b", False)}
    assert {name: projector.snapshot(name) for name in projector.classes} == caught_up

    # Step 4: a signed checkpoint of the whole log is kept.
    checkpoint = checkpoints.make(projector, Ed25519PrivateKey.generate())
    assert checkpoint.tree_size == head
    with owner.connect() as connection:
        assert [c.root_hash for c in checkpoints.listed(connection)] == [checkpoint.root_hash]


@pytest.mark.parametrize("queueing", ["writers-queue", "writers-do-not-queue"])
def test_writers_racing_on_one_record_as_the_role_leave_no_gap(
    pg_url: str, owner: sa.Engine, monkeypatch: pytest.MonkeyPatch, queueing: str
) -> None:
    """Writers that do not queue for the line lose optimistic-concurrency races and retry:
    only the recorder's lock and duplicate check (through the lock function) keep the
    positions gap-free. Writers that queue (the role may take advisory locks) never lose."""
    if queueing == "writers-do-not-queue":
        writers_do_not_queue(monkeypatch)
    first = Ledger(as_role(pg_url))
    story = Story(first, grant_people(first))
    story.budget(1_000_000)
    racers = [Ledger(as_role(pg_url)) for _ in range(4)]
    for ledger in racers:  # a connection open and the line loaded: they meet at the store
        ledger.get_budget_lines()
    barrier = threading.Barrier(len(racers))
    errors: list[BaseException] = []

    def adjust(ledger: Ledger) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(10):
                Story(ledger, story.people).budget(1_000_000)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=adjust, args=(ledger,)) for ledger in racers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        retries = sum(ledger.retries for ledger in racers)
        if queueing == "writers-do-not-queue":
            assert retries > 0  # the race really happened
        else:
            assert retries == 0  # they met at the line's queue
        [line] = first.get_budget_lines(2015, "DA2", "city_budget")
        assert line["assigned"] == 41 * 1_000_000
        assert positions(owner) == list(range(1, first.position() + 1))
    finally:
        for ledger in [first, *racers]:
            ledger.engine.dispose()


def test_the_server_runs_as_the_role(app_ledger: Ledger, pg_url: str) -> None:
    """``ledger serve``'s work: its revision check, commands with an Idempotency-Key, the live
    follower (LISTEN/NOTIFY) that reports wait for, and a rebuild started over HTTP."""
    require_migrated(as_role(pg_url))
    people = grant_people(app_ledger)
    admin = {"Authorization": f"Bearer {people.tokens['admin']}"}
    finance = {"Authorization": f"Bearer {people.tokens['finance']}", "Idempotency-Key": "k-1"}
    line = {
        "budget_year": 2016,
        "project": "DA3",
        "source": "city_budget",
        "amount": 900_000_000,
        "decision_no": "QĐ-9",
        "decided_on": "2016-01-04",
    }
    with TestClient(create_app(app_ledger, follow=True)) as client:
        written = client.post("/api/budget-lines", json=line, headers=finance)
        assert written.status_code == 201, written.text
        again = client.post("/api/budget-lines", json=line, headers=finance)
        assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
        position = written.json()["position"]
        assert app_ledger.position() == position

        report = client.get(
            "/api/reports/project-spend",
            params={"budget_year": 2016, "project": "DA3", "min_position": position},
            headers=admin,
        )
        assert report.status_code == 200, report.text
        assert "stale" not in report.json()  # the live follower folded it
        [city] = [row for row in report.json()["rows"] if row["source"] == "city_budget"]
        assert city["assigned"] == 900_000_000

        started = client.post("/api/admin/projections/journal/rebuild", headers=admin)
        assert started.status_code == 200, started.text
        projector = read_side_of(client).projector
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            journal = {s.name: s for s in projector.status()}["journal"]
            if not journal.rebuilding and journal.active_set == "b":
                break
            time.sleep(0.05)
        assert (journal.active_set, journal.rebuilding) == ("b", False)
        # the live follower folds the others in its own time: wait for it, then ask
        for name in projector.classes:
            projector.wait_for(name, position, 30)
        status = client.get("/api/admin/projections", headers=admin).json()
        assert {(s["position"], s["last_error"]) for s in status} == {(position, None)}


# -- what the role may not do ------------------------------------------------------------------

REFUSED = [
    pytest.param("UPDATE ledger_events SET topic = 'x'", id="update-events"),
    pytest.param(
        "UPDATE ledger_events SET state = state WHERE id = 1", id="update-event-to-itself"
    ),
    pytest.param("DELETE FROM ledger_events", id="delete-events"),
    pytest.param(
        "DELETE FROM ledger_events WHERE id = (SELECT max(id) FROM ledger_events)",
        id="delete-last-event",
    ),
    pytest.param("TRUNCATE ledger_events", id="truncate-events"),
    pytest.param("UPDATE audit_checkpoints SET root_hash = 'x'", id="update-checkpoints"),
    pytest.param("DELETE FROM audit_checkpoints", id="delete-checkpoints"),
    pytest.param("TRUNCATE audit_checkpoints", id="truncate-checkpoints"),
    pytest.param(
        "INSERT INTO ledger_events (id, originator_id, originator_version, topic, state) "
        "VALUES (1000000, gen_random_uuid(), 1, 'x', 'x')",
        id="insert-event-at-chosen-position",
    ),
    pytest.param(
        "ALTER TABLE ledger_events ALTER COLUMN id SET DEFAULT 1000000", id="move-the-positions"
    ),
    pytest.param("DROP FUNCTION ledger_events_position() CASCADE", id="drop-the-position-function"),
    pytest.param(
        "INSERT INTO log_gaps (position, found_at, found_by, reason) VALUES (1, 'x', 'x', 'x')",
        id="record-a-hole",
    ),
    pytest.param("LOCK TABLE ledger_events IN EXCLUSIVE MODE", id="lock-events-directly"),
    pytest.param("ALTER TABLE ledger_events DISABLE TRIGGER USER", id="disable-the-triggers"),
    pytest.param("DROP TABLE ledger_events", id="drop-events"),
    pytest.param("DROP FUNCTION ledger_events_lock()", id="drop-the-lock-function"),
    pytest.param("CREATE TABLE ledger_events_copy (id int)", id="create-a-table"),
]


@pytest.fixture
def written(pg_url: str) -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """A database with events and a checkpoint; (the owner's engine, the role's engine)."""
    ledger = Ledger(pg_url)
    story = Story(ledger, grant_people(ledger))
    story.budget(100_000_000)
    story.approved()
    checkpoints.make(Projector(ledger), Ed25519PrivateKey.generate())
    ledger.engine.dispose()
    owner, role = sa.create_engine(pg_url), sa.create_engine(as_role(pg_url))
    yield owner, role
    role.dispose()
    owner.dispose()


def everything(engine: sa.Engine) -> tuple[list[tuple[Any, ...]], ...]:
    with engine.connect() as connection:
        return tuple(
            [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in ("ledger_events", "audit_checkpoints")
        )


@pytest.mark.parametrize("statement", REFUSED)
def test_the_role_may_not_change_remove_or_reorder_events_and_checkpoints(
    written: tuple[sa.Engine, sa.Engine], statement: str
) -> None:
    owner, role = written
    before = everything(owner)
    assert before[0] and before[1]

    with pytest.raises(sa.exc.DBAPIError) as refused, role.begin() as connection:
        connection.execute(sa.text(statement))

    error: Any = refused.value.orig
    assert error.pgcode == INSUFFICIENT_PRIVILEGE
    message = str(error)
    assert "permission denied" in message or "must be owner" in message
    assert "append-only" not in message  # refused by privileges, not by the triggers
    assert everything(owner) == before


# -- the privileges, table by table --------------------------------------------------------------

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def expected_privileges(table: str) -> set[str]:
    if table in MIGRATION.APPEND_ONLY or table in READ_ONLY:
        return {"SELECT"}  # and, on an append-only table, INSERT of every column but id
    if table in MIGRATION.WORKING:
        return {"SELECT", "INSERT", "UPDATE", "DELETE"}
    return {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"}  # a read model


def privileges(connection: sa.Connection, table: str, role: str = ROLE) -> set[str]:
    return {
        p
        for p in TABLE_PRIVILEGES
        if connection.execute(
            sa.text("SELECT has_table_privilege(:role, :table, :p)"),
            {"role": role, "table": table, "p": p},
        ).scalar_one()
    }


def test_every_table_grants_the_role_exactly_what_its_kind_needs(owner: sa.Engine) -> None:
    """Every table of the schema, so that a later migration's table without its grants fails
    here (migration 0004 sets no default privileges)."""
    with owner.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        assert {
            "ledger_events",
            "audit_checkpoints",
            "projection_state",
            "journal_postings_a",
        } <= set(tables)
        found = {table: privileges(connection, table) for table in tables}
        assert found == {table: expected_privileges(table) for table in tables}

        for table in MIGRATION.APPEND_ONLY:
            columns = [c["name"] for c in sa.inspect(connection).get_columns(table)]
            insertable = {
                c
                for c in columns
                if connection.execute(
                    sa.text("SELECT has_column_privilege(:role, :table, :column, 'INSERT')"),
                    {"role": ROLE, "table": table, "column": c},
                ).scalar_one()
            }
            assert insertable == set(columns) - {"id"}

        for sequence in sa.inspect(connection).get_sequence_names():
            usage, update = connection.execute(
                sa.text(
                    "SELECT has_sequence_privilege(:role, :s, 'USAGE'), "
                    "has_sequence_privilege(:role, :s, 'UPDATE')"
                ),
                {"role": ROLE, "s": sequence},
            ).one()
            assert (sequence, usage, update) == (sequence, True, False)

        definer, config, role_may, anyone_may = connection.execute(
            sa.text(
                "SELECT prosecdef, proconfig, has_function_privilege(:role, p.oid, 'EXECUTE'), "
                "has_function_privilege('public', p.oid, 'EXECUTE') "
                "FROM pg_proc p WHERE proname = 'ledger_events_lock'"
            ),
            {"role": ROLE},
        ).one()
        assert (definer, role_may, anyone_may) == (True, True, False)
        assert config == ["search_path=pg_catalog, pg_temp"]

        attributes = connection.execute(
            sa.text(
                "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls "
                "FROM pg_roles WHERE rolname = :role"
            ),
            {"role": ROLE},
        ).one()
        assert tuple(attributes) == (True, False, False, False, False)


def test_downgrade_revokes_in_this_database_only_and_keeps_the_role(
    pg_url: str, owner: sa.Engine
) -> None:
    config = migrations.alembic_config(pg_url)
    command.downgrade(config, "0003")
    with owner.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        assert {t: privileges(connection, t) for t in tables} == {t: set() for t in tables}
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM pg_proc WHERE proname = 'ledger_events_lock'")
            ).scalar_one()
            == 0
        )
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :role"), {"role": ROLE}
            ).scalar_one()
            == 1
        )  # other databases of the cluster (the test template) use it

    command.upgrade(config, "head")
    ledger = Ledger(as_role(pg_url))
    try:
        Story(ledger, grant_people(ledger)).budget(1_000_000)
        assert positions(owner) == list(range(1, ledger.position() + 1))
    finally:
        ledger.engine.dispose()


# -- a role of the whole cluster, made by the migrations of many databases ----------------------


@pytest.fixture
def fresh_role(postgres_databases: PostgresDatabases) -> Iterator[tuple[str, list[str]]]:
    """A role name no database has used yet, and a list to add databases to; the databases
    and then the role are dropped afterwards."""
    role = f"nscl_app_test_{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    yield role, made
    for name in made:
        postgres_databases.drop(name)
    with postgres_databases.engine.connect() as connection:
        connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))


def new_database(postgres_databases: PostgresDatabases, made: list[str]) -> str:
    name = f"{postgres_databases.prefix}_role_{uuid.uuid4().hex[:8]}"
    made.append(name)
    with postgres_databases.engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return postgres_databases.url_for(name)


def upgrade_in_a_process(url: str, role: str) -> subprocess.Popen[str]:
    """``ledger db upgrade`` as an operator runs it, in its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from api.cli import main; main()",
            "--database-url",
            url,
            "db",
            "upgrade",
        ],
        cwd=ROOT,
        env={**os.environ, settings.APP_ROLE.name: role},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=180)
    return process.returncode, output


def can_append(url: str, role: str) -> int:
    ledger = Ledger(as_role(url, role))
    try:
        Story(ledger, grant_people(ledger)).budget(1_000_000)
        return ledger.position()
    finally:
        ledger.engine.dispose()


def test_two_databases_migrated_at_once_make_and_share_one_new_role(
    postgres_databases: PostgresDatabases, fresh_role: tuple[str, list[str]]
) -> None:
    role, made = fresh_role
    urls = [new_database(postgres_databases, made) for _ in range(2)]

    running = [upgrade_in_a_process(url, role) for url in urls]
    for returncode, output in map(finished, running):
        assert returncode == 0, output
        assert "(head)" in output

    for url in urls:
        assert can_append(url, role) > 0
    with postgres_databases.engine.connect() as connection:
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM pg_roles WHERE rolname = :role"), {"role": role}
            ).scalar_one()
            == 1
        )


def test_a_role_made_by_another_database_at_the_same_moment_is_taken_as_it_is(
    postgres_databases: PostgresDatabases, fresh_role: tuple[str, list[str]]
) -> None:
    """The migration finds no role, creates it, and waits on another transaction that is
    creating the same role (as another database's migration would); when that one commits,
    the migration goes on with the role it made."""
    role, made = fresh_role
    url = new_database(postgres_databases, made)
    database = make_url(url).database
    other = sa.create_engine(postgres_databases.url_for("postgres"))
    waiting = 0
    try:
        with other.begin() as creating, postgres_databases.engine.connect() as watching:
            creating.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
            migrating = upgrade_in_a_process(url, role)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and migrating.poll() is None:
                waiting = watching.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                        "AND wait_event_type = 'Lock' AND query LIKE '%CREATE ROLE%'"
                    ),
                    {"db": database},
                ).scalar_one()
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting == 1, "the migration never waited on the other CREATE ROLE"
        returncode, output = finished(migrating)
    finally:
        other.dispose()
    assert returncode == 0, output
    assert can_append(url, role) > 0
