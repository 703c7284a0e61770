"""Opening the ledger for a command: the database URL, a migrated database, usable settings.

``--database-url`` defaults to ``LEDGER_DATABASE_URL``, else the SQLite file ``ledger.db``
in the home (``ledger/home.py``); only SQLite and PostgreSQL URLs are accepted
(:func:`url_of`). A command that reads or writes the ledger opens it with
:func:`open_ledger`, which refuses a database that is not there or not at the latest
migration, and settings that cannot be used, before any work: nothing but ``ledger db
upgrade`` makes a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

import migrations
from api.cli.errors import CliError, NotMigrated, UnusableInput, safe_url
from ledger import home, settings
from ledger.access import Actor
from ledger.messages import Message, said
from ledger.persistence import UnusableDatabaseURL, database_url
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
            Message(
                "this command acts for a person: give their token with --token or {setting} "
                "(`ledger users add` prints one)",
                setting=settings.TOKEN.name,
            )
        )
    return ledger.authenticate(token)


def url_of(ctx: click.Context) -> str:
    """The database URL of this command (kept for the error messages, see ``errors``): a URL
    that is not SQLite or PostgreSQL is refused (exit status 2) before anything is done."""
    try:
        url = database_url(ctx.find_root().obj["database_url"])
    except UnusableDatabaseURL as error:
        raise UnusableInput(said(error)) from None
    ctx.find_root().ensure_object(dict)["resolved_url"] = url
    return url


def sqlite_folder(url: str, *, create: bool) -> None:
    """Refuse (exit status 2) a SQLite database whose folder does not exist, unless
    ``create``: then make the folder. A database is never made in a folder by surprise."""
    file = home.sqlite_file(url)
    if file is None or file.parent.is_dir():
        return
    if not create:
        raise UnusableInput(
            Message(
                "the folder {folder} of the SQLite database {name} does not exist: create it, "
                "or run `ledger db upgrade --create` to have it made",
                folder=file.parent,
                name=file.name,
            )
        )
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(
            Message(
                "cannot make the folder {folder}: {reason}",
                folder=file.parent,
                reason=error.strerror,
            )
        ) from None


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()


def require_migrated(url: str) -> None:
    """Raise :class:`NotMigrated` unless the database at ``url`` is at the latest revision."""
    parsed = make_url(url)
    path = parsed.database
    on_disk = parsed.get_backend_name() == "sqlite" and path not in (None, "", ":memory:")
    if on_disk and not Path(str(path)).exists():
        folder = Path(str(path)).parent
        upgrade = "ledger db upgrade" if folder.is_dir() else "ledger db upgrade --create"
        raise NotMigrated(
            Message(
                "there is no database at {url}: run `{upgrade}` first",
                url=safe_url(url),
                upgrade=upgrade,
            )
        )
    current, head = migrations.current(url), head_revision(url)
    if current is None:
        raise NotMigrated(
            Message(
                "the database at {url} has not been migrated: run `ledger db upgrade` first",
                url=safe_url(url),
            )
        )
    if current != head:
        raise NotMigrated(
            Message(
                "the database at {url} is at revision {current}, not {head}: run `ledger db "
                "upgrade` first",
                url=safe_url(url),
                current=current,
                head=head,
            )
        )


def check_settings() -> None:
    """Refuse settings from the environment that cannot be used, before any work."""
    try:
        settings.REPLAY_SNAPSHOT_EVERY.get()
        settings.READY_MAX_LAG.get()
    except ValueError as error:
        raise CliError(said(error)) from None


@contextmanager
def open_ledger(url: str) -> Iterator[Ledger]:
    check_settings()
    require_migrated(url)
    ledger = Ledger(url)
    try:
        yield ledger
    finally:
        ledger.engine.dispose()
