"""Migrations 0006, 0007 and 0008 on a database migrated to 0005 with events in it, read
models in their old shape folded: the changed read models are made again, the program report's
and the estimates' made, and they fold the whole log anew, on both databases; on PostgreSQL the
application's role may use every table made."""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command

import migrations
from api.cli import head_revision
from ledger.service import Ledger
from migrations import alembic_config
from projections.check import check
from projections.projector import Projector
from projections.state import projection_state
from tests.support.budget_cycle import Year2015, assert_every_read_path_agrees
from tests.support.people import People

OLD_SPEND = """CREATE TABLE {name} (budget_year INTEGER NOT NULL, project VARCHAR(8) NOT NULL,
    source VARCHAR(16) NOT NULL, assigned BIGINT NOT NULL, committed BIGINT NOT NULL,
    disbursed BIGINT NOT NULL, recovered BIGINT NOT NULL, applications JSON NOT NULL,
    PRIMARY KEY (budget_year, project, source))"""
OLD_EXECUTION = """CREATE TABLE {name} (budget_year INTEGER NOT NULL, project VARCHAR(8) NOT NULL,
    estimate_proposed BIGINT NOT NULL, estimate_appraised BIGINT NOT NULL,
    estimate_approved BIGINT NOT NULL, assigned BIGINT NOT NULL, committed BIGINT NOT NULL,
    disbursed BIGINT NOT NULL, PRIMARY KEY (budget_year, project))"""


def test_upgrading_a_database_of_0005_with_events_rebuilds_the_money_read_models(
    database_url: str, people: People, ledger: Ledger
) -> None:
    # Step 1: the database as 0005 left it: events written (a closed year among them) and
    # the money read models in their old shape, folded up to the head.
    Year2015(ledger, people).build()
    head = ledger.position()
    command.downgrade(alembic_config(database_url), "0005")
    assert migrations.current(database_url) == "0005"
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        for name, ddl in (("project_spend", OLD_SPEND), ("budget_execution", OLD_EXECUTION)):
            for table in (f"{name}_a", f"{name}_b"):
                connection.execute(sa.text(f"DROP TABLE {table}"))
                connection.execute(sa.text(ddl.format(name=table)))
        connection.execute(
            sa.text(
                "INSERT INTO project_spend_b VALUES (2015, 'DA2', 'enterprise', 50, 0, 0, 0, '{}')"
            )
        )
        connection.execute(sa.delete(projection_state))
        connection.execute(
            sa.insert(projection_state),
            [
                {"name": name, "active_set": "b", "position": head}
                for name in ("project_spend", "budget_execution", "journal", "registers")
            ],
        )

    # Step 2: the upgrade makes the tables again in their new shape and resets their tracking.
    migrations.upgrade(database_url)
    assert migrations.current(database_url) == head_revision(database_url) == "0009"
    inspector = sa.inspect(engine)
    for table in ("project_spend_a", "project_spend_b", "budget_execution_a"):
        assert "channel" in {c["name"] for c in inspector.get_columns(table)}, table
    names = set(inspector.get_table_names())
    for added in (
        "project_spend_counterpart",
        "project_spend_counts",
        "budget_execution_estimates",
        "program_applications",  # 0007: the program report's read model
        "program_budget_execution",
        "estimates",  # 0008: each year's estimate, stage by stage
    ):
        assert {f"{added}_a", f"{added}_b"} <= names
    with engine.connect() as connection:
        tracking = connection.execute(
            sa.select(
                projection_state.c.name, projection_state.c.active_set, projection_state.c.position
            )
        ).all()
        assert sorted(tracking) == [
            ("budget_execution", "a", 0),
            ("journal", "a", 0),
            ("project_spend", "a", 0),
            ("registers", "a", 0),
        ]
        if engine.dialect.name == "postgresql":
            role = os.environ.get("LEDGER_APP_ROLE", "nscl_app")
            held = connection.execute(
                sa.text(
                    "SELECT has_table_privilege(:role, 'project_spend_counterpart_a', 'TRUNCATE')"
                ),
                {"role": role},
            ).scalar_one()
            assert held, "the application's role may use the tables 0006 made"
            for table in ("program_applications_b", "estimates_a"):
                held = connection.execute(
                    sa.text("SELECT has_table_privilege(:role, :table, 'INSERT')"),
                    {"role": role, "table": table},
                ).scalar_one()
                assert held, f"the application's role may use {table}"
    engine.dispose()

    # Step 3: the next catch-up folds the whole log into them; everything reconciles.
    projector = Projector(ledger)
    assert projector.catch_up() == head
    assert check(ledger, projector) == []
    assert_every_read_path_agrees(ledger)
