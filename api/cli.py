"""The ``ledger`` command line: set up the database, manage users, load the demo, serve.

Every command has ``--help``. A mistake (a refused command, a wrong code, a database that
has not been migrated, a bad option) is reported as ONE line on stderr with a non-zero exit
status, never a traceback. ``--database-url`` defaults to ``LEDGER_DATABASE_URL``, else
the SQLite file ``var/ledger.db``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn
from uuid import UUID

import click
import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url

import migrations
from ledger import catalogue, settings
from ledger import commands as c
from ledger.access import ROLE_NAMES_VI, SYSTEM
from ledger.budget_line import format_vnd
from ledger.errors import LedgerError
from ledger.persistence import database_url
from ledger.service import Ledger
from projections.gaps import DEFAULT_REASON, record_gaps, unrecorded
from projections.projector import Projector

#: Command fields -> how the user typed them.
FIELD_NAMES = {
    "name": "--name",
    "role": "--role",
    "department": "--department",
    "reason": "--reason",
    "user_id": "USER_ID",
}


class CliError(Exception):
    """A mistake the user can fix, already phrased as one line."""


class NotMigrated(CliError):
    pass


# -- error reporting ------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _hint(field: str, value: Any) -> str:
    if field == "role":
        return f" (one of: {', '.join(catalogue.ROLES)})"
    if field == "department" and isinstance(value, str):
        close = difflib.get_close_matches(value.upper(), list(catalogue.DEPARTMENTS), n=3)
        if close:
            return f" (did you mean {' or '.join(close)}?)"
        return " (codes as in GLOSSARY.md, e.g. SKHCN, STC, SCT, QH-CAUGIAY)"
    return ""


def explain_validation(error: ValidationError) -> str:
    """A pydantic validation error as one readable line naming the field(s)."""
    parts = []
    for problem in error.errors():
        loc = [str(part) for part in problem.get("loc", ())]
        field = loc[0] if loc else ""
        where = FIELD_NAMES.get(field, ".".join(loc) or "input")
        message = str(problem.get("msg", "is not valid")).removeprefix("Value error, ")
        parts.append(f"invalid {where}: {message}{_hint(field, problem.get('input'))}")
    return "; ".join(parts)


def explain(error: BaseException, url: str | None = None) -> str | None:
    """The one-line message for a mistake the user can fix, or ``None`` for a bug."""
    where = f" at {_safe(url)}" if url else ""
    text = _one_line(str(error))
    if isinstance(error, CliError):
        return text
    if isinstance(error, LedgerError):
        return _one_line(error.detail)
    if isinstance(error, ValidationError):
        return explain_validation(error)
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"the database{where} has not been migrated: run `ledger db upgrade` first"
    if isinstance(error, sqlalchemy.exc.ArgumentError | sqlalchemy.exc.NoSuchModuleError):
        return f"the database URL is not usable: {text}"
    if isinstance(error, sqlalchemy.exc.DBAPIError | PersistenceError):
        first = text.split(" [SQL:")[0].split(" (Background on")[0]
        return f"cannot use the database{where}: {first}"
    return None


def _safe(url: str | None) -> str:
    if not url:
        return ""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"Error: {_one_line(message)}", err=True)
    sys.exit(code)


class LedgerGroup(click.Group):
    """The top-level group: turns every user mistake into one line on stderr."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message(), err=True)
            result = error.exit_code
        except click.ClickException as error:
            message = error.format_message()
            context = getattr(error, "ctx", None)
            if isinstance(error, click.UsageError) and context is not None:
                message += f" (see `{context.command_path} --help`)"
            click.echo(f"Error: {_one_line(message)}", err=True)
            result = error.exit_code
        except click.Abort:
            click.echo("Aborted.", err=True)
            result = 1
        except CliError as error:
            click.echo(f"Error: {_one_line(str(error))}", err=True)
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, CliError):
            raise
        except Exception as error:
            url = (ctx.obj or {}).get("resolved_url")
            message = explain(error, url)
            if message is None:  # a bug, not a mistake: one line all the same
                if settings.DEBUG.get():
                    traceback.print_exc()
                message = (
                    f"unexpected error ({type(error).__name__}: {error}); nothing more was "
                    f"done. Set {settings.DEBUG.name}=1 to see where it happened"
                )
            raise CliError(message) from error


# -- shared plumbing ------------------------------------------------------------------------


def _url_of(ctx: click.Context) -> str:
    url = database_url(ctx.obj["database_url"])
    ctx.find_root().ensure_object(dict)["resolved_url"] = url
    return url


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrations.alembic_config(url)).get_current_head()


def require_migrated(url: str) -> None:
    """Raise :class:`NotMigrated` unless the database at ``url`` is at the latest revision."""
    parsed = make_url(url)
    path = parsed.database
    on_disk = parsed.get_backend_name() == "sqlite" and path not in (None, "", ":memory:")
    if on_disk and not Path(str(path)).exists():
        raise NotMigrated(f"there is no database at {_safe(url)}: run `ledger db upgrade` first")
    current, head = migrations.current(url), head_revision(url)
    if current is None:
        raise NotMigrated(
            f"the database at {_safe(url)} has not been migrated: run `ledger db upgrade` first"
        )
    if current != head:
        raise NotMigrated(
            f"the database at {_safe(url)} is at revision {current}, not {head}: "
            "run `ledger db upgrade` first"
        )


@contextmanager
def open_ledger(url: str) -> Iterator[Ledger]:
    check_settings()
    require_migrated(url)
    ledger = Ledger(url)
    try:
        yield ledger
    finally:
        ledger.engine.dispose()


def check_settings() -> None:
    """Refuse settings from the environment that cannot be used, before any work."""
    try:
        settings.REPLAY_SNAPSHOT_EVERY.get()
        settings.READY_MAX_LAG.get()
    except ValueError as error:
        raise CliError(str(error)) from None


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 120
    return Console(stderr=stderr, width=width, highlight=False)


# -- the commands ---------------------------------------------------------------------------


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    metavar="URL",
    default=None,
    help="Database to use (default: $LEDGER_DATABASE_URL, else sqlite:///var/ledger.db).",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """The NSCL ledger: the money of Hanoi's program of decision 6374/QĐ-UBND (2010–2020)."""
    ctx.ensure_object(dict)
    ctx.obj["database_url"] = database_url


@cli.group()
def db() -> None:
    """Set up the database."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or update every table of the ledger (Alembic migrations)."""
    url = _url_of(ctx)
    before = migrations.current(url)
    migrations.upgrade(url)
    after = migrations.current(url)
    if before == after:
        click.echo(f"The database at {_safe(url)} is already at revision {after} (head).")
    else:
        click.echo(f"Upgraded the database at {_safe(url)} to revision {after} (head).")
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
    "--reason", default=DEFAULT_REASON, show_default=False,
    help="Why the positions are empty (kept in each record; a default says: a write that "
    "failed before migration 0005).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="List the holes; record nothing.")
@click.pass_context
def db_record_gaps(ctx: click.Context, reason: str, dry_run: bool) -> None:
    """Record each position the log skips as a hole: found when, by whom, why.

    Only a position that no Merkle tree leaf and no signed checkpoint ever held is taken
    (any other held an event that was deleted: then nothing is recorded, and `ledger
    verify` names it). Recorded holes are leaves of the tree of their own; verification,
    export and import account for them. Run it once after upgrading a PostgreSQL ledger
    written before migration 0005."""
    with open_ledger(_url_of(ctx)) as ledger:
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


@cli.group()
def users() -> None:
    """Grant, revoke and list access to the ledger."""


@users.command("add")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", required=True, help=f"One of: {', '.join(catalogue.ROLES)}.")
@click.option("--department", required=True, help="Department code, e.g. SKHCN, STC, QH-CAUGIAY.")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str, department: str) -> None:
    """Create a user and print its token ALONE on the last line (shown once, kept as a hash)."""
    command = c.GrantAccess(name=name, role=role, department=department)
    with open_ledger(_url_of(ctx)) as ledger:
        granted = ledger.grant_access(command, SYSTEM)
    body = catalogue.DEPARTMENTS[command.department].name_vi
    role_vi = ROLE_NAMES_VI.get(command.role, command.role)
    click.echo(
        f"Created user {command.name}: {command.role} ({role_vi}), {command.department} – {body}."
    )
    click.echo(f"User id: {granted.user_id}")
    click.echo("Token (shown only now; keep it safe):")
    click.echo(granted.token)


@users.command("revoke")
@click.argument("user_id", type=click.UUID)
@click.option("--reason", required=True, help="Why the access ends (kept in the record).")
@click.pass_context
def users_revoke(ctx: click.Context, user_id: UUID, reason: str) -> None:
    """Revoke a user's access: its token stops working at once."""
    command = c.RevokeAccess(user_id=user_id, reason=reason)
    with open_ledger(_url_of(ctx)) as ledger:
        ledger.revoke_access(command, SYSTEM)
    click.echo(f"Revoked the access of user {user_id}; its token no longer works.")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Show every user: id, name, role, department and whether the access is active."""
    with open_ledger(_url_of(ctx)) as ledger:
        people = ledger.list_users()
    if not people:
        click.echo("No users yet: add one with `ledger users add`.")
        return
    table = Table(title=f"Users ({len(people)})")
    table.add_column("id", no_wrap=True)
    table.add_column("name")
    table.add_column("role")
    table.add_column("department")
    table.add_column("active")
    for person in people:
        table.add_row(
            *(Text(str(person[key])) for key in ("id", "name", "role", "department")),
            Text("yes" if person["active"] else "no"),
        )
    console().print(table)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="How much the server logs.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, log_level: str) -> None:
    """Serve the HTTP API and the dashboard (uvicorn)."""
    url = _url_of(ctx)
    check_settings()
    require_migrated(url)
    try:
        from api.app import create_app
    except ModuleNotFoundError as error:
        if error.name not in ("api.app", "api"):
            raise
        raise CliError("the HTTP API (api/app.py) is not part of this installation") from None
    import uvicorn

    ledger = Ledger(url)
    try:
        uvicorn.run(create_app(ledger, follow=True), host=host, port=port, log_level=log_level)
    finally:
        ledger.engine.dispose()


@cli.command()
@click.option("--seed", default=6374, show_default=True, type=int, help="Random seed.")
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=1000),
    help="1.0 ≈ 500 enterprises and 2,000 applications; events grow in proportion.",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="If the ledger already holds a program, say so and exit 0 instead of failing.",
)
@click.pass_context
def demo(ctx: click.Context, seed: int, scale: float, if_empty: bool) -> None:
    """Load the demo program (2011–2020) into an empty ledger, through the service's rules."""
    from demo.run import load_demo, program_events

    with open_ledger(_url_of(ctx)) as ledger:
        if program_events(ledger) and if_empty:
            click.echo(
                f"The ledger already holds a program ({ledger.count_events():,} events); "
                "the demo is not loaded again."
            )
            return
        if program_events(ledger):
            raise CliError(
                f"the database at {_safe(ledger.url)} already holds a program "
                f"({ledger.count_events()} events); the demo loads only into an empty ledger "
                "(users are fine): point --database-url at a new database"
            )
        with progress_bars() as report:

            def progress(done: int, total: int) -> None:
                report("Loading the demo program", done, total)

            summary = load_demo(ledger, seed=seed, scale=scale, progress=progress)

    out = console()
    table = Table(title=f"Demo program loaded (seed {seed}, scale {scale:g})", show_header=False)
    table.add_column("what")
    table.add_column("how many", justify="right")
    rows: list[tuple[str, str]] = [
        ("events written", f"{summary.events:,}"),
        ("users", f"{summary.users:,}"),
        ("enterprises", f"{summary.enterprises:,}"),
        ("budget lines", f"{summary.budget_lines:,}"),
        ("applications", f"{summary.applications:,}"),
        *((f"  {status}", f"{n:,}") for status, n in summary.applications_by_status.items()),
        ("program activities", f"{summary.activities:,}"),
        ("city budget assigned", format_vnd(summary.city_budget_assigned)),
        ("city budget committed", format_vnd(summary.city_budget_committed)),
        ("city budget disbursed", format_vnd(summary.city_budget_disbursed)),
        ("city budget recovered", format_vnd(summary.city_budget_recovered)),
    ]
    for what, count in rows:
        table.add_row(what, count)
    out.print(table)
    out.print("The demo users' tokens are not shown; add yourself with `ledger users add`.")


# -- projections -----------------------------------------------------------------------------


@cli.group()
def projections() -> None:
    """Read models: status, catch-up, live follow, rebuild, reconciliation check."""


def _projector(ledger: Ledger) -> Any:
    from projections.projector import Projector

    return Projector(ledger)


def _checked_name(projector: Any, name: str | None) -> None:
    from projections.projector import UnknownProjection

    try:
        projector.select(name)
    except UnknownProjection as error:
        raise CliError(str(error)) from None


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars on stderr, one per label: ``report(label, done, total)``."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console(stderr=True)) as bar:
        tasks: dict[str, Any] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield report


@projections.command("status")
@click.pass_context
def projections_status(ctx: click.Context) -> None:
    """Each projection's position, lag behind the log, last error and rebuild state."""
    with open_ledger(_url_of(ctx)) as ledger:
        projector = _projector(ledger)
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
    with open_ledger(_url_of(ctx)) as ledger:
        projector = _projector(ledger)
        _checked_name(projector, name)
        with progress_bars() as progress:
            folded = projector.catch_up(name, progress=progress)
        click.echo(f"Folded {folded:,} events; every projection is at {projector.head():,}.")


@projections.command("rebuild")
@click.argument("name", required=False)
@click.pass_context
def projections_rebuild(ctx: click.Context, name: str | None) -> None:
    """Rebuild from the first event into fresh tables, then switch readers (all, or NAME)."""
    with open_ledger(_url_of(ctx)) as ledger:
        projector = _projector(ledger)
        _checked_name(projector, name)
        with progress_bars() as progress:
            folded = projector.rebuild(name, progress=progress)
        click.echo(f"Rebuilt {name or 'every projection'} from {folded:,} events.")


@projections.command("snapshots")
@click.pass_context
def projections_snapshots(ctx: click.Context) -> None:
    """Make the replay snapshots missing up to the head of the log (past views then fold only
    the events after the nearest one; the first replay that needs one makes it otherwise)."""
    from projections.replay import prepare_snapshots
    from projections.snapshots import snapshots_for, snapshotted

    with open_ledger(_url_of(ctx)) as ledger:
        kept = snapshots_for(ledger, snapshotted())
        if kept is None:
            click.echo("Replay snapshots are turned off (LEDGER_REPLAY_SNAPSHOT_EVERY=0).")
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
    import signal
    import threading

    with open_ledger(_url_of(ctx)) as ledger:
        projector = _projector(ledger)
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
    from projections.check import check

    with open_ledger(_url_of(ctx)) as ledger:
        problems = check(ledger)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise CliError(f"{len(problems)} reconciliation problem(s)")
    click.echo("The read models reconcile with each other and with a fresh fold of the log.")


# -- audit: keys, checkpoints, verification, the event log as a file ------------------------


@cli.group()
def keys() -> None:
    """The Ed25519 key that signs checkpoints (a file, never in the database)."""


KEY_FILE_HELP = "Private key file (default: $LEDGER_SIGNING_KEY, else var/signing-key.pem)."


@keys.command("init")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
def keys_init(key_file: str | None) -> None:
    """Make a new signing key in a new file readable by its owner only (mode 0600)."""
    from ledger import checkpoint as cp

    path = cp.init_key(key_file)
    info = cp.public_key_info(cp.load_key(path))
    click.echo(f"Made the signing key {path} (mode 0600; keep it out of backups you share).")
    click.echo(f"Key id {info['key_id']}, public key (Ed25519) {info['public_key']}")


@keys.command("public")
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write it here.")
def keys_public(key_file: str | None, out: str | None) -> None:
    """Print (or write) the public key as JSON, for inspectors and `verify --offline`."""
    import json

    from ledger import checkpoint as cp

    text = json.dumps(cp.public_key_info(cp.load_key(key_file)), indent=2)
    if out is None:
        click.echo(text)
        return
    with _writing(_new_file(out, force=True)) as file:
        file.write((text + "\n").encode())
    click.echo(f"Wrote the public key to {out}.")


def _new_file(path: str, force: bool) -> Path:
    """``path`` to write, refused if it exists (without ``force``) or has no folder."""
    target = Path(path)
    if target.exists() and not force:
        raise CliError(f"{path} exists; choose another file or pass --force")
    if not target.parent.is_dir():
        raise CliError(f"there is no folder {target.parent} to write {target.name} into")
    return target


@contextmanager
def _writing(target: Path) -> Iterator[IO[bytes]]:
    """``target`` written through ``target.partial``, renamed into place only once whole."""
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("wb") as file:
            yield file
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _consistent_with(named: Any) -> str:
    """What an export says of the checkpoint it names."""
    if named is None:
        return "no checkpoint yet: run `ledger checkpoint` to make one"
    return (
        f"consistent with the checkpoint of {named.tree_size:,} events ({named.created_at}), "
        f"root {named.root_hash}"
    )


@cli.command()
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also write it here.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def checkpoint(ctx: click.Context, key_file: str | None, out: str | None, force: bool) -> None:
    """Sign the Merkle tree at the head of the log; keep the checkpoint and print it."""
    import json

    from ledger import checkpoint as cp
    from projections.checkpoints import make

    key = cp.load_key(key_file)
    target = _new_file(out, force) if out is not None else None
    with open_ledger(_url_of(ctx)) as ledger:
        made = make(_projector(ledger), key)
    text = json.dumps(made.to_json(), indent=2, ensure_ascii=False)
    if target is not None:
        with _writing(target) as file:
            file.write((text + "\n").encode())
        click.echo(f"Wrote the checkpoint of {made.tree_size:,} events to {out}.", err=True)
    click.echo(text)


def _public_key(public_key: str | None, key_file: str | None) -> bytes | None:
    """The key that checks signatures: ``--public-key`` (a file or the base64 itself), else
    the public half of the signing key if there is one here."""
    from ledger import checkpoint as cp

    if public_key is not None:
        given = Path(public_key)
        text = given.read_text(encoding="utf-8") if given.is_file() else public_key
        return cp.read_public_key(text)
    return cp.own_public_key(key_file)


def _report(result: Any, what: str) -> None:
    for problem in result.problems:
        click.echo(problem.line())
    if not result.ok:
        first = result.first_bad_position
        where = f"; the first bad position is {first:,}" if first is not None else ""
        raise CliError(f"{what}: {len(result.problems)} problem(s){where}")
    click.echo(f"{what}: {result.checked:,} events verified; root {result.root_hash}.")


@cli.command()
@click.option(
    "--checkpoint", "checkpoint_files", multiple=True, type=click.Path(dir_okay=False),
    help="A checkpoint file to check the log against (repeatable).",
)  # fmt: skip
@click.option(
    "--public-key", default=None, metavar="KEY",
    help="File (or base64) of the public key that signed the checkpoints "
    "(default: the public half of the signing key).",
)  # fmt: skip
@click.option(
    "--offline", "offline_log", type=click.Path(dir_okay=False), default=None, metavar="LOG",
    help="Verify an exported log file instead of the database (needs no database).",
)  # fmt: skip
@click.option("--key-file", type=click.Path(dir_okay=False), default=None, help=KEY_FILE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def verify(
    ctx: click.Context,
    checkpoint_files: tuple[str, ...],
    public_key: str | None,
    offline_log: str | None,
    key_file: str | None,
    as_json: bool,
) -> None:
    """Recompute every leaf of the log and check it against the stored tree and every
    checkpoint; name each problem and the first bad position; exit 1 on any problem."""
    import json

    from ledger import checkpoint as cp

    if offline_log is not None and not checkpoint_files:
        raise CliError("--offline needs at least one --checkpoint to check the log against")
    given = [cp.read_file(path) for path in checkpoint_files]
    key = _public_key(public_key, key_file)
    if offline_log is not None:
        from ledger.event_log import verify_file

        if key is None:
            raise CliError("--offline needs --public-key to check the checkpoints' signatures")
        result = verify_file(offline_log, given, key)
        what = f"{offline_log} (offline)"
    else:
        from projections.verify import verify as verify_log

        with open_ledger(_url_of(ctx)) as ledger:
            result = verify_log(_projector(ledger), given, key)
        what = "the log"
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        if not result.ok:
            sys.exit(1)
        return
    _report(result, what)


@cli.group("export")
def export_group() -> None:
    """Evidence: the event log as JSONL, the audit trail as XLSX or CSV."""


@export_group.command("events")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="JSONL file to write.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def export_events(ctx: click.Context, out: str, force: bool) -> None:
    """Every stored event, one per line with its leaf hash, after a header naming the newest
    checkpoint the file is consistent with."""
    from ledger.event_log import export
    from projections.checkpoints import latest

    target = _new_file(out, force)
    with open_ledger(_url_of(ctx)) as ledger:
        upto = ledger.position()
        with ledger.engine.connect() as connection:
            named = latest(connection, upto)
        with _writing(target) as file, progress_bars() as progress:
            result = export(
                ledger.engine, ledger.events_table, file, upto, named,
                lambda done, total: progress("export", done, total),
            )  # fmt: skip
    click.echo(
        f"Wrote {result.checked:,} events to {out}; root {result.root_hash}; "
        f"{_consistent_with(named)}."
    )


@export_group.command("audit-trail")
@click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default=None,
    help="xlsx or csv (default: from the suffix of --out).",
)  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option("--record-id", type=click.UUID, default=None, help="Only this record's events.")
@click.option("--actor", default=None, help="Only the events recorded by this user id.")
@click.option("--department", default=None, help="Only this department's events, e.g. STC.")
@click.option(
    "--event-type", default=None, help="Only this type, e.g. SupportApplication.Approved."
)
@click.option("--from", "from_", default=None, metavar="DATE", help="Effective on or after DATE.")
@click.option("--to", default=None, metavar="DATE", help="Effective on or before DATE.")
@click.option(
    "--order", type=click.Choice(["asc", "desc"]), default="asc", show_default=True,
    help="By position.",
)  # fmt: skip
@click.option("--no-catch-up", is_flag=True, help="Export the trail as it stands, unfolded.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@click.pass_context
def export_audit_trail(
    ctx: click.Context, fmt: str | None, out: str, record_id: UUID | None, actor: str | None,
    department: str | None, event_type: str | None, from_: str | None, to: str | None,
    order: str, no_catch_up: bool, force: bool,
) -> None:  # fmt: skip
    """The audit trail as XLSX or CSV (Vietnamese headers, money in đồng, dates dd/mm/yyyy),
    filtered like GET /api/reports/audit-trail, every page, naming the newest checkpoint it
    is consistent with. DATE is YYYY-MM-DD or dd/mm/yyyy. First folds the events the audit
    trail and the Merkle tree have not folded yet (unless --no-catch-up)."""
    from projections import evidence

    target = Path(out)
    fmt = fmt or target.suffix.lower().removeprefix(".")
    if fmt not in evidence.FORMATS:
        raise CliError(f"cannot tell the format from the name {out}: pass --format xlsx or csv")
    _new_file(out, force)
    given = {"record_id": record_id, "actor": actor, "department": department,
             "event_type": event_type, "from": _cli_date(from_, "--from"),
             "to": _cli_date(to, "--to"), "order": order}  # fmt: skip
    try:
        filters = evidence.AuditFilters.model_validate(given)
    except ValidationError as error:
        raise CliError("; ".join(
            f"invalid --{str(p['loc'][0]).rstrip('_').replace('_', '-')}: "
            f"{p['msg'].removeprefix('Value error, ')}"
            f"{_hint(str(p['loc'][0]), p.get('input'))}"
            for p in error.errors()
        )) from None  # fmt: skip
    with open_ledger(_url_of(ctx)) as ledger, progress_bars() as progress:
        projector = _projector(ledger)
        if not no_catch_up:
            for name in (evidence.NAME, "merkle"):
                projector.catch_up(name, progress=progress)
        with _writing(target) as file:
            done = evidence.export(
                projector, file, fmt, filters,
                progress=lambda rows, total: progress("export", rows, total),
            )  # fmt: skip
    click.echo(
        f"Wrote {done.rows:,} rows of the audit trail at position {done.position:,} to {out}; "
        f"{_consistent_with(done.checkpoint)}."
    )


def _cli_date(text: str | None, option: str) -> dt.date | None:
    if text is None or not text.strip():
        return None
    for parse in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    raise CliError(f"invalid {option}: {text!r} is not a date (YYYY-MM-DD or dd/mm/yyyy)")


@cli.command("import")
@click.argument("log", type=click.Path(dir_okay=False, exists=True))
@click.option(
    "--checkpoint", "checkpoint_file", required=True, type=click.Path(dir_okay=False),
    help="The checkpoint every imported event must be covered by.",
)  # fmt: skip
@click.option(
    "--public-key", default=None, metavar="KEY",
    help="File (or base64) of the public key that signed the checkpoint.",
)  # fmt: skip
@click.pass_context
def import_log(ctx: click.Context, log: str, checkpoint_file: str, public_key: str | None) -> None:
    """Load an exported log into an empty database, checking every leaf and the root
    against the checkpoint first: all or nothing. Then bring the read models up to date."""
    from ledger import checkpoint as cp
    from ledger.event_log import import_file

    held = cp.read_file(checkpoint_file)
    key = _public_key(public_key, None) if public_key is not None else None
    with open_ledger(_url_of(ctx)) as ledger, progress_bars() as progress:
        result = import_file(
            ledger.engine, ledger.events_table, log, held, key,
            lambda done, total: progress("import", done, total),
        )  # fmt: skip
        _projector(ledger).catch_up(progress=progress)
    signed = "signature checked" if key is not None else "signature not checked (no --public-key)"
    click.echo(
        f"Imported {result.checked:,} events; root {result.root_hash} equals the checkpoint's "
        f"({signed}); the read models are caught up."
    )


# -- replay: a report as known at a past time or position, as of a date ---------------------

REPLAY_REPORTS = (
    "project-spend", "department-activity", "targets", "audit-trail", "trial-balance",
    "applications",
)  # fmt: skip
#: (option, the report parameter it fills, help): each report takes the ones it has
REPLAY_FILTERS = (
    ("--budget-year", "budget_year", "Budget year, e.g. 2015."),
    ("--project", "project", "Project code, DA1 to DA4."),
    ("--source", "source", "Funding source: city_budget, enterprise or other (project-spend)."),
    ("--department", "department", "Department code, e.g. SKHCN."),
    ("--status", "status", "Application status (applications)."),
    ("--enterprise-id", "enterprise_id", "Enterprise id (applications)."),
    ("--search", "q", "Text of the dossier number, title or enterprise (applications)."),
    ("--record-id", "record_id", "Record id (audit-trail)."),
    ("--actor", "actor", "The actor's user id (audit-trail)."),
    ("--event-type", "event_type", "Event type, e.g. Approved (audit-trail)."),
    ("--from", "from", "First effective date, YYYY-MM-DD (audit-trail)."),
    ("--to", "to", "Last effective date, YYYY-MM-DD (audit-trail)."),
    ("--order", "order", "asc or desc (audit-trail)."),
    ("--page", "page", "Page, from 1 (audit-trail, applications)."),
    ("--page-size", "page_size", "Rows per page (audit-trail, applications)."),
)
REPLAY_OPTIONS = {
    "as_known_at": "--as-known-at", "as_of": "--as-of",
    **{field: option for option, field, _ in REPLAY_FILTERS}, "from_": "--from",
}  # fmt: skip


def _replay_filters(command: Any) -> Any:
    for option, field, text in reversed(REPLAY_FILTERS):
        command = click.option(option, field, default=None, help=text)(command)
    return command


def _cell(value: Any) -> Text:
    if isinstance(value, dict | list):
        import json

        return Text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return Text("" if value is None else str(value))


@cli.command("replay")
@click.argument("report", type=click.Choice(REPLAY_REPORTS))
@click.option(
    "--as-known-at",
    metavar="TIME|POSITION",
    help="As the log stood then: a time with its zone (2026-11-25T10:00:00Z; events recorded "
    "by then) or a position (up to the end of its command). Default: now.",
)
@click.option("--as-of", metavar="DATE", help="As of a date, YYYY-MM-DD: effective by then.")
@_replay_filters
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON (as the API).")
@click.pass_context
def replay_command(
    ctx: click.Context,
    /,
    report: str,
    as_known_at: str | None,
    as_of: str | None,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Show REPORT as known at a past time or position and as of a date: its projection is
    replayed from the log by the live fold code into a throw-away store. The first line says
    which view it is (on stderr with --json, whose answer carries it as "view")."""
    from api import reports
    from ledger.errors import ValidationFailed

    chosen = reports.REPORTS[report]
    accepted = {f.alias or name for name, f in chosen.query.model_fields.items()}
    values: dict[str, Any] = {"as_known_at": as_known_at, "as_of": as_of}
    for option, field, _ in REPLAY_FILTERS:
        if filters.get(field) is None:
            continue
        if field not in accepted:
            takes = [o for o, f, _ in REPLAY_FILTERS if f in accepted]
            raise CliError(
                f"{option} does not apply to the {report} report"
                + (f" (it takes {', '.join(takes)})" if takes else "")
            )
        values[field] = filters[field]
    try:
        query = chosen.query.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise CliError(
            "; ".join(
                f"invalid {REPLAY_OPTIONS.get(str(e['loc'][0]), e['loc'][0])}: "
                + str(e["msg"]).removeprefix("Value error, ")
                for e in error.errors()
            )
        ) from None
    with open_ledger(_url_of(ctx)) as ledger:
        try:
            view = reports.resolve_view(ledger, query.as_known_at, query.as_of)
        except ValidationFailed as error:
            where = REPLAY_OPTIONS.get(str(error.errors[0].loc[-1]), "value")
            raise CliError(f"invalid {where}: {error.errors[0].msg}") from None
        click.echo(view.sentence(), err=as_json)
        with progress_bars() as progress:
            answer = reports.replay_report(ledger, report, query, progress, view)
    if as_json:
        import json

        click.echo(json.dumps(answer, ensure_ascii=False, indent=1))
        return
    rows = answer["rows"]
    if not rows:
        click.echo("No rows.")
    else:
        table = Table(title=f"{report} ({len(rows)} rows)")
        for column in rows[0]:
            numbers = all(isinstance(r[column], int) for r in rows)
            table.add_column(column, justify="right" if numbers else "left")
        for row in rows:
            table.add_row(*(_cell(value) for value in row.values()))
        console().print(table)
    for key in ("total_debit", "total_credit", "next_page"):
        if key in answer:
            click.echo(f"{key.replace('_', ' ')}: {answer[key]}")


def main() -> None:
    """Entry point of the ``ledger`` script."""
    cli(prog_name="ledger")


if __name__ == "__main__":
    main()
