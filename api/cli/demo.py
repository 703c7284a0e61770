"""``ledger demo``: load the demo program (2011–2020) into an empty ledger."""

from __future__ import annotations

import click
from rich.table import Table

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError, safe_url
from api.cli.terminal import console, progress_bars
from demo.run import load_demo, program_events
from ledger.budget_line import format_vnd
from projections import estimate_inputs
from projections.projector import Projector


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
    help="If the ledger already holds a program, say so and exit 0 instead of failing.",
)
@click.pass_context
def demo(ctx: click.Context, seed: int, scale: float, if_empty: bool) -> None:
    """Load the demo program (2011–2020) into an empty ledger, through the service's rules."""
    with open_ledger(url_of(ctx)) as ledger:
        if program_events(ledger) and if_empty:
            click.echo(
                f"The ledger already holds a program ({ledger.count_events():,} events); "
                "the demo is not loaded again."
            )
            return
        if program_events(ledger):
            raise CliError(
                f"the database at {safe_url(ledger.url)} already holds a program "
                f"({ledger.count_events()} events); the demo loads only into an empty ledger "
                "(users are fine): point --database-url at a new database"
            )
        # each year's estimate is drafted from the read models, caught up as it goes
        estimate_inputs.install(ledger, Projector(ledger))
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
