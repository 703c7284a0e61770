"""Shared set-up for the benchmarks: fresh, migrated databases on each backend.

PostgreSQL is reached at ``LEDGER_BENCH_PG_URL`` (default: the local server, user postgres);
each run creates and drops its own database. SQLite uses a file in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import migrations

PG_ADMIN_URL = os.environ.get(
    "LEDGER_BENCH_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def fresh_database(backend: str, name: str = "nscl_bench") -> Iterator[str]:
    """Yield the URL of a new, migrated database; drop it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
            migrations.upgrade(url)
            yield url
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rate(count: int, run: Callable[[], None]) -> float:
    """Operations per second of ``run`` (which performs ``count`` operations)."""
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)
