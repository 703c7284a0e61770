"""``ledger demo``: load the demo program (2011–2020) into an empty ledger, once.

``make demo`` runs it with ``--if-empty --admin NAME``: the first time it loads the program
and adds one admin, whose token it prints once; on a ledger that already holds a program it
adds nothing and says, in one line, the command that makes an admin token if one is wanted.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click
from pydantic import ValidationError
from rich.table import Table

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError, explain_validation, safe_url
from api.cli.terminal import console, progress_bars
from demo.run import load_demo, program_events
from ledger import commands as c
from ledger import home
from ledger.access import SYSTEM
from ledger.budget_line import format_vnd
from ledger.messages import Message
from projections import estimate_inputs
from projections.projector import Projector

#: the admin ``make demo`` adds, and the one the "already loaded" line suggests
ADMIN_NAME = "Quản trị demo"
ADMIN_DEPARTMENT = "SKHCN"


def this_program() -> str:
    """How the user ran this command: ``ledger`` if that is what the shell finds, else the
    path they ran (``.venv/bin/ledger`` from ``make demo``)."""
    ran = sys.argv[0]
    found = shutil.which("ledger")
    if Path(ran).name != "ledger" or (found and Path(found).resolve() == Path(ran).resolve()):
        return "ledger"
    return ran


def add_admin_command(url: str, name: str) -> str:
    """The command line that adds an admin to the ledger at ``url`` (naming the database
    unless it is the default one a shell without settings would use)."""
    words = [this_program()]
    if url != f"sqlite:///{home.default_home() / home.DATABASE_FILE}":
        words += ["--database-url", safe_url(url)]
    words += ["users", "add", "--name", name, "--role", "admin", "--department", ADMIN_DEPARTMENT]
    return shlex.join(words)


@click.command()
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
    help="If the ledger already holds a program, say so in one line (with the command that "
    "adds an admin) and exit 0, adding nothing, instead of failing.",
)
@click.option(
    "--admin",
    "admin_name",
    metavar="NAME",
    default=None,
    help=f"Once the program is loaded, also add an admin ({ADMIN_DEPARTMENT}) named NAME and "
    "print their token, once. Nothing is added if the program is not loaded.",
)
@click.pass_context
def demo(
    ctx: click.Context, seed: int, scale: float, if_empty: bool, admin_name: str | None
) -> None:
    """Load the demo program (2011–2020) into an empty ledger, through the service's rules."""
    url = url_of(ctx)
    admin = None
    if admin_name is not None:
        try:
            admin = c.GrantAccess(name=admin_name, role="admin", department=ADMIN_DEPARTMENT)
        except ValidationError as error:
            raise CliError(explain_validation(error, {"name": "--admin"})) from None
    with open_ledger(url) as ledger:
        if program_events(ledger) and if_empty:
            click.echo(
                f"The demo is already loaded (the ledger holds a program, "
                f"{ledger.count_events():,} events): nothing is loaded again and no admin is "
                f"added. For an admin token: {add_admin_command(url, admin_name or ADMIN_NAME)}"
            )
            return
        if program_events(ledger):
            raise CliError(
                Message(
                    "the database at {url} already holds a program ({count} events); the demo "
                    "loads only into an empty ledger (users are fine): point --database-url at "
                    "a new database",
                    url=safe_url(ledger.url),
                    count=ledger.count_events(),
                )
            )
        # each year's estimate is drafted from the read models, caught up as it goes
        estimate_inputs.install(ledger, Projector(ledger))
        with progress_bars() as report:

            def progress(done: int, total: int) -> None:
                report("Loading the demo program", done, total)

            summary = load_demo(ledger, seed=seed, scale=scale, progress=progress)
        granted = ledger.grant_access(admin, SYSTEM) if admin is not None else None

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
    if admin is None or granted is None:
        out.print("The demo users' tokens are not shown; add yourself with `ledger users add`.")
        return
    click.echo(f"Added the admin {admin.name} ({ADMIN_DEPARTMENT}), user id {granted.user_id}.")
    click.echo("Admin token (keep it; it is shown only now):")
    click.echo(granted.token)
