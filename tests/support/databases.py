"""The PostgreSQL server of the tests and the databases made on it.

PostgreSQL is reached at ``LEDGER_TEST_PG_URL`` (default
``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``); each test gets its own database,
cloned from a migrated template.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import migrations
from ledger import settings

PG_ADMIN_URL = settings.TEST_PG_URL.get()
IN_CI = settings.CI.get()
BACKENDS = ("sqlite", "postgresql")


def pg_admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def pg_reachable() -> str | None:
    """None when the server answers, else the first line of why not."""
    try:
        engine = pg_admin_engine()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error).splitlines()[0]
    return None


class PostgresDatabases:
    """Creates per-test databases from one migrated template (fast ``CREATE ... TEMPLATE``)."""

    def __init__(self) -> None:
        self.engine = pg_admin_engine()
        self.prefix = f"nscl_test_{os.getpid()}"
        self.template = f"{self.prefix}_tpl"
        self.count = 0
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.template}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
        migrations.upgrade(self.url_for(self.template))

    def url_for(self, name: str) -> str:
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def create(self) -> tuple[str, str]:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name, self.url_for(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.drop(self.template)
        self.engine.dispose()
