"""The ``ledger`` command line: set up the database, manage users, load the demo, serve.

Every command has ``--help``. A mistake (a refused command, a wrong code, a database that
has not been migrated, a bad option) is reported as ONE line on stderr with a non-zero exit
status, never a traceback. ``--database-url`` defaults to ``LEDGER_DATABASE_URL``, else
the SQLite file ``ledger.db`` in the home (``LEDGER_HOME``, ``ledger/home.py``), where the
other default files are too.

This package holds the top-level group :func:`cli` and the entry point :func:`main`; each
command group is a module of its own (``db``, ``users``, ``serve``, ``demo``,
``projections``, ``replay``, ``audit``: keys, checkpoint, verify, export, import; ``rules``,
``year``, ``estimate``: the budget cycle; ``report``: the program, estimate and execution
reports; ``docs``: the HTTP contract written from the OpenAPI document), sharing
``errors`` (every mistake as one line), ``database`` (opening a migrated ledger),
``terminal`` (tables and progress bars) and ``files`` (writing a file whole or not at all).
"""

from __future__ import annotations

import click

from api.cli import (
    audit,
    db,
    demo,
    docs,
    estimate,
    projections,
    replay,
    report,
    rules,
    serve,
    users,
    year,
)
from api.cli.database import head_revision, require_migrated
from api.cli.errors import LedgerGroup
from ledger import settings

__all__ = ["cli", "head_revision", "main", "require_migrated"]


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    metavar="URL",
    default=None,
    help=f"Database to use: sqlite:///PATH or postgresql://USER@HOST/DBNAME (default: "
    f"${settings.DATABASE_URL.name}, else the SQLite file ledger.db in ${settings.HOME.name}).",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """The NSCL ledger: the money of Hanoi's program of decision 6374/QĐ-UBND (2010–2020)."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url


for command in (
    db.db,
    users.users,
    rules.rules,
    year.year,
    serve.serve,
    demo.demo,
    estimate.estimate,
    projections.projections,
    replay.replay_command,
    report.report,
    audit.keys,
    audit.checkpoint,
    audit.verify,
    audit.export_group,
    audit.import_log,
    docs.docs,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``ledger`` script."""
    cli(prog_name="ledger")
