"""``ledger report program|estimate|execution``: the program report, a year's estimate report
and budget execution, as the API answers them, printed or written as an XLSX workbook.

The read models are caught up first (nothing else needs to run). ``--as-known-at`` and
``--as-of`` ask for a past view, replayed from the log as ``ledger replay`` does. ``--out
FILE`` writes the workbook (whole or not at all, never over a file without ``--force``);
``--json`` prints the answer as the API gives it; otherwise a short summary is printed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from api.cli.database import open_ledger, url_of
from api.cli.errors import CliError, explain_validation
from api.cli.files import new_file
from ledger import commands as c
from ledger.budget_line import format_vnd
from ledger.errors import ValidationFailed
from ledger.messages import Message

YEAR = click.IntRange(c.FIRST_BUDGET_YEAR, c.LAST_BUDGET_YEAR)
#: the query's fields as the command's options name them, for its one-line mistakes
OPTIONS = {"as_known_at": "--as-known-at", "as_of": "--as-of", "from_": "--from", "to": "--to"}


def _view_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in (
        click.option(
            "--as-known-at",
            metavar="TIME|POSITION",
            help="As the log stood then: a time with its zone (2026-11-25T10:00:00Z) or a "
            "position. Default: now.",
        ),
        click.option("--as-of", metavar="DATE", help="As of a date, YYYY-MM-DD."),
        click.option("--out", metavar="FILE", help="Write the report as an XLSX workbook to FILE."),
        click.option("--force", is_flag=True, help="With --out: replace FILE if it exists."),
        click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON."),
    ):
        command = option(command)
    return command


@click.group()
def report() -> None:
    """Reports for the People's Committee and Sở Tài chính, as JSON, tables or XLSX."""


@report.command("program")
@click.option("--from", "first", type=YEAR, required=True, help="The first budget year.")
@click.option("--to", "last", type=YEAR, required=True, help="The last budget year.")
@_view_options
@click.pass_context
def program_command(ctx: click.Context, /, first: int, last: int, **options: Any) -> None:
    """The program report for budget years --from to --to: one year is the annual report,
    2011–2015 the mid-term review, 2011–2020 the final review."""
    _run(ctx, "program", {"from": first, "to": last}, {}, **options)


@report.command("estimate")
@click.argument("year", type=YEAR)
@_view_options
@click.pass_context
def estimate_command(ctx: click.Context, /, year: int, **options: Any) -> None:
    """The estimate of YEAR as Sở Tài chính appraises it, beside the year before's execution."""
    _run(ctx, "estimate", {}, {"budget_year": year}, **options)


@report.command("execution")
@click.option("--budget-year", type=YEAR, default=None, help="One budget year (default: all).")
@_view_options
@click.pass_context
def execution_command(ctx: click.Context, /, budget_year: int | None, **options: Any) -> None:
    """Budget execution per budget year × project × source × channel."""
    given = {"budget_year": budget_year} if budget_year is not None else {}
    _run(ctx, "execution", given, {}, **options)


def _run(
    ctx: click.Context,
    name: str,
    given: dict[str, Any],
    path: dict[str, Any],
    *,
    as_known_at: str | None,
    as_of: str | None,
    out: str | None,
    force: bool,
    as_json: bool,
) -> None:
    # imported here: the reports and the spreadsheet library cost every other command
    from api import reports, workbooks
    from api.read_side import ReadSide

    chosen = reports.REPORTS[name]
    values = {**given, "as_known_at": as_known_at, "as_of": as_of}
    try:
        query = chosen.query.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise CliError(explain_validation(error, OPTIONS, hints=False)) from None
    target = new_file(out, force) if out is not None else None
    with open_ledger(url_of(ctx)) as ledger:
        side = ReadSide(ledger)
        side.projector.catch_up()
        try:
            answer = reports.reader(name)(side, path, query, None)
        except ValidationFailed as error:
            problem = error.errors[0]
            where = OPTIONS.get(str(problem.loc[-1]), str(problem.loc[-1]))
            raise CliError(
                Message("invalid {where}: {msg}", where=where, msg=problem.msg)
            ) from None
    if target is not None:
        _write(target, lambda file: workbooks.write(name, answer, file))
        click.echo(
            f"Wrote {target} ({workbooks.filename(name, answer)}; position {answer['position']:,})."
        )
        return
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=1))
        return
    for line in _summary(name, answer):
        click.echo(line)


def _write(target: Path, write: Callable[[str], None]) -> None:
    """``target`` written through ``target.partial``, renamed into place only once whole."""
    partial = target.with_name(target.name + ".partial")
    try:
        write(str(partial))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _summary(name: str, answer: dict[str, Any]) -> list[str]:
    evidence = answer["evidence"]
    foot = f"Position {answer['position']:,}; Merkle root {evidence['root_hash']}."
    if name == "program":
        support, money = answer["support"]["total"], answer["money"]["totals"]
        lines = [answer["period"]["title"]]
        lines += [
            f"  {t['target']}: {t['in_period']:,} in the period, {t['achieved']:,} of "
            f"{t['target_value']:,} {t['unit']} ({t['percent']} %)"
            for t in answer["targets"]
        ]
        lines.append(
            f"  support: {support['applications']:,} applications of {support['enterprises']:,} "
            f"enterprises approved, {format_vnd(support['approved'])} approved, "
            f"{format_vnd(support['paid'])} paid"
        )
        lines.append(
            f"  city budget: {format_vnd(money['assigned'])} assigned, "
            f"{format_vnd(money['disbursed'])} disbursed, {format_vnd(money['cancelled'])} "
            "cancelled"
        )
        return [*lines, foot]
    if name == "estimate":
        totals = answer["totals"]
        stages = ", ".join(answer["stages"]) or "nothing drafted"
        lines = [f"Estimate {answer['budget_year']} ({stages}):"]
        lines += [
            f"  {r['project']} {r['channel']}: proposed {_money(r['proposed'])}, appraised "
            f"{_money(r['appraised'])}, approved {_money(r['approved'])}"
            + (f" — {r['reason']}" if r["reason"] else "")
            for r in answer["rows"]
        ]
        lines.append(f"  total approved {_money(totals['approved'])}")
        return [*lines, foot]
    totals = answer["totals"]
    year = answer["budget_year"] or "all years"
    return [
        f"Budget execution ({year}): {len(answer['rows'])} lines; assigned "
        f"{format_vnd(totals['assigned'])}, disbursed {format_vnd(totals['disbursed'])}, "
        f"carried out {format_vnd(totals['carried_out'])}, cancelled "
        f"{format_vnd(totals['cancelled'])}",
        foot,
    ]


def _money(value: int | None) -> str:
    return "—" if value is None else format_vnd(value)
