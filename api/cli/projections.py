"""``ledger projections``: the read models' status, catch-up, rebuild, replay snapshots, live
follow and reconciliation check."""

from __future__ import annotations

import signal
import threading

import click
from rich.table import Table

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError
from api.cli.terminal import console, progress_bars
from ledger import settings
from ledger.messages import Message, said
from projections.check import check
from projections.parallel import cores
from projections.projector import Projector, UnknownProjection
from projections.replay import prepare_snapshots
from projections.snapshots import snapshots_for, snapshotted


@click.group()
def projections() -> None:
    """Read models: status, catch-up, live follow, rebuild, reconciliation check."""


def _checked_name(projector: Projector, name: str | None) -> None:
    try:
        projector.select(name)
    except UnknownProjection as error:
        raise CliError(said(error)) from None


@projections.command("status")
@click.pass_context
def projections_status(ctx: click.Context) -> None:
    """Each projection's position, lag behind the log, last error and rebuild state."""
    with open_ledger(url_of(ctx)) as ledger:
        projector = Projector(ledger)
        table = Table(title=f"Projections (log at position {projector.head():,})")
        for column in ("name", "position", "lag", "rebuilding", "last error"):
            table.add_column(column, justify="right" if column in ("position", "lag") else "left")
        for s in projector.status():
            rebuilding = f"yes ({s.rebuild_position:,})" if s.rebuilding else "no"
            table.add_row(s.name, f"{s.position:,}", f"{s.lag:,}", rebuilding, s.last_error or "")
        console().print(table)


@projections.command("catch-up")
@click.argument("name", required=False)
@click.pass_context
def projections_catch_up(ctx: click.Context, name: str | None) -> None:
    """Fold every event not yet folded (all projections, or NAME)."""
    with open_ledger(url_of(ctx)) as ledger:
        projector = Projector(ledger)
        _checked_name(projector, name)
        with progress_bars() as progress:
            folded = projector.catch_up(name, progress=progress)
        click.echo(f"Folded {folded:,} events; every projection is at {projector.head():,}.")


@projections.command("rebuild")
@click.argument("name", required=False)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes that fold the log (default: one per core; 1: fold in this process).",
)
@click.pass_context
def projections_rebuild(ctx: click.Context, name: str | None, workers: int | None) -> None:
    """Rebuild from the first event into fresh tables, then switch readers (all, or NAME)."""
    with open_ledger(url_of(ctx)) as ledger:
        projector = Projector(ledger)
        _checked_name(projector, name)
        with progress_bars() as progress:
            folded = projector.rebuild(name, progress=progress, workers=workers or cores())
        click.echo(f"Rebuilt {name or 'every projection'} from {folded:,} events.")


@projections.command("snapshots")
@click.pass_context
def projections_snapshots(ctx: click.Context) -> None:
    """Make the replay snapshots missing up to the head of the log (past views then fold only
    the events after the nearest one; the first replay that needs one makes it otherwise)."""
    with open_ledger(url_of(ctx)) as ledger:
        kept = snapshots_for(ledger, snapshotted())
        if kept is None:
            click.echo(
                f"Replay snapshots are turned off ({settings.REPLAY_SNAPSHOT_EVERY.name}=0)."
            )
            return
        with progress_bars() as progress:
            last = prepare_snapshots(ledger, progress)
        if last == 0:
            click.echo(
                f"No snapshot yet: the log holds {ledger.position():,} events, the first "
                f"snapshot is made at {kept.every:,}."
            )
            return
        click.echo(
            f"Replay snapshots every {kept.every:,} events up to position {last:,} "
            f"(log at {ledger.position():,}) in {kept.path}."
        )


@projections.command("follow")
@click.option(
    "--poll-interval",
    default=0.2,
    show_default=True,
    type=float,
    help="Seconds between polls on SQLite (PostgreSQL is woken by NOTIFY).",
)
@click.pass_context
def projections_follow(ctx: click.Context, poll_interval: float) -> None:
    """Keep every projection caught up, live, until interrupted (Ctrl-C)."""
    with open_ledger(url_of(ctx)) as ledger:
        projector = Projector(ledger)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        click.echo(f"Following the log from position {projector.head():,}; Ctrl-C stops.")
        try:
            projector.follow(stop, poll_interval=poll_interval)
        except KeyboardInterrupt:
            stop.set()
        click.echo("Stopped.")


@projections.command("check")
@click.pass_context
def projections_check(ctx: click.Context) -> None:
    """Reconcile journal, project_spend and registers with each other and with a fresh
    in-memory fold; print each problem on its own line; exit 1 if there is any."""
    with open_ledger(url_of(ctx)) as ledger:
        problems = check(ledger)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise CliError(Message("{count} reconciliation problem(s)", count=len(problems)))
    click.echo("The read models reconcile with each other and with a fresh fold of the log.")
