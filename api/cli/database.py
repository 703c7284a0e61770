"""Opening the ledger for a command: the database URL, a migrated database, usable settings.

``--database-url`` defaults to ``LEDGER_DATABASE_URL``, else the SQLite file
``var/ledger.db``. A command that reads or writes the ledger opens it with
:func:`open_ledger`, which refuses a database that is not at the latest migration, and
settings that cannot be used, before any work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

import migrations
from api.cli.errors import CliError, NotMigrated, safe_url
from ledger import settings
from ledger.access import Actor
from ledger.persistence import database_url
from ledger.service import Ledger

#: ``--token``: the person a command of the budget cycle acts for (its role is checked and
#: the events name them, as over HTTP)
token_option = click.option(
    "--token",
    metavar="TOKEN",
    default=None,
    help=f"Bearer token of the person acting (default: ${settings.TOKEN.name}); "
    "`ledger users add` prints one.",
)


def acting_for(ledger: Ledger, token: str | None) -> Actor:
    """The person a command acts for, from ``--token`` or ``LEDGER_TOKEN``."""
    token = token or settings.TOKEN.get()
    if not token:
        raise CliError(
            f"this command acts for a person: give their token with --token or "
            f"{settings.TOKEN.name} (`ledger users add` prints one)"
        )
    return ledger.authenticate(token)


def url_of(ctx: click.Context) -> str:
    """The database URL of this command (kept for the error messages, see ``errors``)."""
    url = database_url(ctx.obj["database_url"])
    ctx.find_root().ensure_object(dict)["resolved_url"] = url
    return url


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()


def require_migrated(url: str) -> None:
    """Raise :class:`NotMigrated` unless the database at ``url`` is at the latest revision."""
    parsed = make_url(url)
    path = parsed.database
    on_disk = parsed.get_backend_name() == "sqlite" and path not in (None, "", ":memory:")
    if on_disk and not Path(str(path)).exists():
        raise NotMigrated(f"there is no database at {safe_url(url)}: run `ledger db upgrade` first")
    current, head = migrations.current(url), head_revision(url)
    if current is None:
        raise NotMigrated(
            f"the database at {safe_url(url)} has not been migrated: run `ledger db upgrade` first"
        )
    if current != head:
        raise NotMigrated(
            f"the database at {safe_url(url)} is at revision {current}, not {head}: "
            "run `ledger db upgrade` first"
        )


def check_settings() -> None:
    """Refuse settings from the environment that cannot be used, before any work."""
    try:
        settings.REPLAY_SNAPSHOT_EVERY.get()
        settings.READY_MAX_LAG.get()
    except ValueError as error:
        raise CliError(str(error)) from None


@contextmanager
def open_ledger(url: str) -> Iterator[Ledger]:
    check_settings()
    require_migrated(url)
    ledger = Ledger(url)
    try:
        yield ledger
    finally:
        ledger.engine.dispose()
