"""``ledger year``: close and reopen a budget year (khóa sổ), and show each year's status."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.table import Table
from rich.text import Text

from api.cli.database import acting_for, open_ledger, token_option, url_of
from api.cli.terminal import console
from ledger import commands as c
from ledger.budget_line import format_vnd


@click.group()
def year() -> None:
    """Close, reopen and show budget years."""


@year.command("close")
@click.argument("budget_year", type=int)
@click.option(
    "--on", "closed_on", default=None, help="Date of the close, YYYY-MM-DD (default today)."
)
@token_option
@click.pass_context
def year_close(
    ctx: click.Context, budget_year: int, closed_on: str | None, token: str | None
) -> None:
    """Close BUDGET_YEAR (finance): carry committed-but-unpaid money over to the next year,
    cancel the rest; nothing may be dated in it afterwards."""
    with open_ledger(url_of(ctx)) as ledger:
        actor = acting_for(ledger, token)
        command = c.CloseBudgetYear.model_validate(
            {"budget_year": budget_year, "closed_on": closed_on or dt.date.today().isoformat()},
            strict=False,
        )
        written = ledger.close_budget_year(command, actor)
    click.echo(
        f"Closed {budget_year}: {format_vnd(written.extra['carried_out'])} carried over to "
        f"{budget_year + 1}, {format_vnd(written.extra['cancelled'])} cancelled "
        f"(position {written.position})."
    )


@year.command("reopen")
@click.argument("budget_year", type=int)
@click.option("--reason", required=True, help="Why it is reopened (kept in the record).")
@token_option
@click.pass_context
def year_reopen(ctx: click.Context, budget_year: int, reason: str, token: str | None) -> None:
    """Reopen a closed BUDGET_YEAR (finance), with a reason."""
    with open_ledger(url_of(ctx)) as ledger:
        actor = acting_for(ledger, token)
        command = c.ReopenBudgetYear.model_validate(
            {"budget_year": budget_year, "reason": reason}, strict=False
        )
        written = ledger.reopen_budget_year(command, actor)
    click.echo(f"Reopened {budget_year} (position {written.position}).")


@year.command("status")
@click.argument("budget_year", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def year_status(ctx: click.Context, budget_year: int | None, as_json: bool) -> None:
    """Show each budget year (or BUDGET_YEAR): open or closed, and its lines' totals."""
    with open_ledger(url_of(ctx)) as ledger:
        years = ledger.get_budget_years()
    if budget_year is not None:
        years = [y for y in years if y["budget_year"] == budget_year]
    if as_json:
        click.echo(json.dumps(years, ensure_ascii=False, indent=2))
        return
    if not years:
        click.echo("No budget year has a city-budget line yet.")
        return
    table = Table(title="Budget years")
    columns = ("assigned", "carried_in", "committed", "disbursed", "carried_out", "cancelled")
    cells = [
        [
            str(row["budget_year"]),
            f"closed {dt.date.fromisoformat(row['closed_on']):%d/%m/%Y}"
            if row["closed_on"]
            else row["status"],
            *(format_vnd(row[k]) for k in (*columns, "available")),
        ]
        for row in years
    ]
    # years, dates and amounts stay whole: a wide table is wider than the terminal
    for i, column in enumerate(("year", "status", *columns, "available")):
        table.add_column(
            column.replace("_", " "),
            justify="left" if i < 2 else "right",
            no_wrap=True,
            min_width=max(len(column), *(len(row[i]) for row in cells)),
        )
    for row_cells in cells:
        table.add_row(*(Text(cell) for cell in row_cells))
    console().print(table, crop=False)
