"""``ledger replay``: a report as known at a past time or position, as of a date."""

from __future__ import annotations

import json
from typing import Any

import click
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError, explain_validation
from api.cli.terminal import console, progress_bars
from ledger.errors import ValidationFailed
from ledger.messages import Message

REPLAY_REPORTS = (
    "project-spend",
    "department-activity",
    "targets",
    "audit-trail",
    "trial-balance",
    "applications",
)
#: (option, the report parameter it fills, help): each report takes the ones it has
REPLAY_FILTERS = (
    ("--budget-year", "budget_year", "Budget year, e.g. 2015."),
    ("--project", "project", "Project code, DA1 to DA4."),
    ("--source", "source", "Funding source: city_budget, enterprise or other (project-spend)."),
    (
        "--channel",
        "channel",
        "City-budget channel: science_recurrent, science_fund or investment (project-spend).",
    ),
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
#: lists a report answers beside its rows, printed as tables of their own
EXTRA_LISTS = ("counterpart", "applications")
REPLAY_OPTIONS = {
    "as_known_at": "--as-known-at",
    "as_of": "--as-of",
    **{field: option for option, field, _ in REPLAY_FILTERS},
    "from_": "--from",
}


def _replay_filters(command: Any) -> Any:
    for option, field, text in reversed(REPLAY_FILTERS):
        command = click.option(option, field, default=None, help=text)(command)
    return command


def _cell(value: Any) -> Text:
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return Text("" if value is None else str(value))


@click.command("replay")
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
    # Imported here, not at the top: the reports (with the spreadsheet library, openpyxl)
    # take ~65 ms to import, measured after the rest of the command line (~8% of
    # `ledger --help`), which every other command would pay for nothing.
    from api import reports

    chosen = reports.REPORTS[report]
    accepted = {f.alias or name for name, f in chosen.query.model_fields.items()}
    values: dict[str, Any] = {"as_known_at": as_known_at, "as_of": as_of}
    for option, field, _ in REPLAY_FILTERS:
        if filters.get(field) is None:
            continue
        if field not in accepted:
            takes = [o for o, f, _ in REPLAY_FILTERS if f in accepted]
            raise CliError(
                Message(
                    "{option} does not apply to the {report} report{takes}",
                    option=option,
                    report=report,
                    takes=Message(" (it takes {takes})", takes=", ".join(takes)) if takes else "",
                )
            )
        values[field] = filters[field]
    try:
        query = chosen.query.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise CliError(explain_validation(error, REPLAY_OPTIONS, hints=False)) from None
    with open_ledger(url_of(ctx)) as ledger:
        try:
            view = reports.resolve_view(ledger, query.as_known_at, query.as_of)
        except ValidationFailed as error:
            where = REPLAY_OPTIONS.get(str(error.errors[0].loc[-1]), "value")
            raise CliError(
                Message("invalid {where}: {msg}", where=where, msg=error.errors[0].msg)
            ) from None
        click.echo(view.sentence(), err=as_json)
        with progress_bars() as progress:
            answer = reports.replay_report(ledger, report, query, progress, view)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=1))
        return
    rows = answer["rows"]
    if not rows:
        click.echo("No rows.")
    # project-spend answers counterpart funding and the application counts beside its rows
    for name, found in (("", rows), *((f" {k}", answer.get(k)) for k in EXTRA_LISTS)):
        if not found:
            continue
        table = Table(title=f"{report}{name} ({len(found)} rows)")
        cells = [[_cell(value) for value in row.values()] for row in found]
        for i, column in enumerate(found[0]):
            numbers = all(isinstance(r[column], int) for r in found)
            # headers, codes and amounts stay whole: a wide table is wider than the terminal
            table.add_column(
                column,
                justify="right" if numbers else "left",
                no_wrap=True,
                min_width=max(len(column), *(len(row[i]) for row in cells)),
            )
        for row_cells in cells:
            table.add_row(*row_cells)
        console().print(table, crop=False)
    for key in ("total_debit", "total_credit", "next_page"):
        if key in answer:
            click.echo(f"{key.replace('_', ' ')}: {answer[key]}")
