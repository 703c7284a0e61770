"""``ledger db``: create or update the tables, record the holes older versions left."""

from __future__ import annotations

import click

import migrations
from api.cli.database import open_ledger, sqlite_folder, url_of
from api.cli.errors import safe_url
from projections.gaps import DEFAULT_REASON, record_gaps, unrecorded
from projections.projector import Projector


@click.group()
def db() -> None:
    """Set up the database."""


@db.command("upgrade")
@click.option(
    "--create",
    is_flag=True,
    help="Make the folder of a SQLite database if it does not exist (without it, a missing "
    "folder is refused: a mistyped path makes no database).",
)
@click.pass_context
def db_upgrade(ctx: click.Context, create: bool) -> None:
    """Create or update every table of the ledger (Alembic migrations). A SQLite database
    is made if its file is not there yet; its folder only with --create."""
    url = url_of(ctx)
    sqlite_folder(url, create=create)
    before = migrations.current(url)
    migrations.upgrade(url)
    after = migrations.current(url)
    if before == after:
        click.echo(f"The database at {safe_url(url)} is already at revision {after} (head).")
    else:
        click.echo(f"Upgraded the database at {safe_url(url)} to revision {after} (head).")
    with open_ledger(url) as ledger:
        holes = unrecorded(Projector(ledger))
    if holes:
        click.echo(
            f"The log skips {len(holes):,} position(s) not recorded as holes (first: "
            f"{holes[0]:,}), left by writes that failed before this version: the Merkle tree "
            "stops before the first. Run `ledger db record-gaps` to record them.",
            err=True,
        )


@db.command("record-gaps")
@click.option(
    "--reason",
    default=DEFAULT_REASON,
    show_default=False,
    help="Why the positions are empty (kept in each record; a default says: a write that "
    "failed before migration 0005).",
)
@click.option("--dry-run", is_flag=True, help="List the holes; record nothing.")
@click.pass_context
def db_record_gaps(ctx: click.Context, reason: str, dry_run: bool) -> None:
    """Record each position the log skips as a hole: found when, by whom, why.

    Only a position that no Merkle tree leaf and no signed checkpoint ever held is taken
    (any other held an event that was deleted: then nothing is recorded, and `ledger
    verify` names it). Recorded holes are leaves of the tree of their own; verification,
    export and import account for them. Run it once after upgrading a PostgreSQL ledger
    written before migration 0005."""
    with open_ledger(url_of(ctx)) as ledger:
        gaps = record_gaps(Projector(ledger), reason, dry_run=dry_run)
    if not gaps:
        click.echo("The log skips no position that is not recorded: nothing to record.")
        return
    shown = ", ".join(f"{g.position:,}" for g in gaps[:20]) + (" …" if len(gaps) > 20 else "")
    if dry_run:
        click.echo(f"{len(gaps):,} hole(s) would be recorded: {shown}.")
        return
    click.echo(
        f"Recorded {len(gaps):,} hole(s) at {gaps[0].found_at} by {gaps[0].found_by}: {shown}."
    )
