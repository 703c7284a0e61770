"""Reconciliation: the read models against each other and against a fresh fold of the log;
the ledger against its invariants.

Problems come back as data (a list of :class:`ledger.problems.Problem`, each from the
projection it is found in), like beancount's validations; the ``ledger projections check``
command prints them one per line and exits non-zero if any.

Checked:
* journal ↔ project_spend: for every city-budget budget year × project × channel, the
  accounts give back assigned, carried in, committed, disbursed, recovered, carried out,
  cancelled and available exactly; for every counterpart budget year × project × source,
  pledged and spent;
* registers ↔ project_spend: every budget line's figures;
* budget_execution ↔ project_spend: every city-budget figure of every year × project ×
  channel (the estimate's columns have nothing to compare with);
* estimates ↔ the estimates' records: every year's stages as the record holds them (when the
  read model has folded the head of the log);
* the journal's trial balance nets to zero for every budget year;
* every projection ↔ a fresh in-memory fold of the log up to the same position (replay):
  every row of every table equal;
* every projection keeps up: none has an error in its tracking row, none is further behind
  the head of the log than one catch-up batch;
* the ledger itself: its whole-ledger invariants (:func:`ledger.checks.check_invariants`),
  the year closes' conservation of money among them.
"""

from __future__ import annotations

from typing import Any

from ledger.checks import check_invariants
from ledger.problems import Problem
from ledger.service import Ledger
from projections import budget_execution, estimates, journal, project_spend, registers
from projections.projector import CATCH_UP_BATCH, Projector, Status
from projections.replay import replay

#: what a city-budget row says, in every read model
FIGURES = (*project_spend.CITY_FIGURES, "available")
#: what a counterpart row says
COUNTERPART = project_spend.COUNTERPART_FIGURES
CITY = "city_budget"


def stuck(statuses: list[Status]) -> list[Problem]:
    """Projections that are not keeping up: a last error in the tracking row, or further
    behind the head than one catch-up batch (more than a live follower ever leaves)."""
    problems = []
    for status in statuses:
        if status.last_error:
            problems.append(
                Problem(status.name, "failed", f"position {status.position}", status.last_error)
            )
        if status.lag > CATCH_UP_BATCH:
            problems.append(
                Problem(
                    status.name,
                    "behind",
                    f"position {status.position}",
                    f"{status.lag:,} events behind the head of the log (more than one catch-up "
                    f"batch, {CATCH_UP_BATCH:,}): is the live follower running (`ledger serve` or "
                    "`ledger projections follow`)? `ledger projections catch-up` folds them now",
                )
            )
    return problems


def check(ledger: Ledger, projector: Projector | None = None) -> list[Problem]:
    """Every disagreement found, then every broken invariant of the ledger; an empty list
    means the read models reconcile and the ledger keeps its invariants."""
    projector = projector or Projector(ledger)
    problems: list[Problem] = []
    with projector.reading("project_spend") as (connection, tables, spend_position):
        spend: dict[Any, dict[str, Any]] = {
            (r["budget_year"], r["project"], CITY, r["channel"]): r
            for r in project_spend.report(connection, tables)
        }
        counterpart = {
            (r["budget_year"], r["project"], r["source"], ""): r
            for r in project_spend.counterpart(connection, tables)
        }
    with projector.reading("journal") as (connection, tables, journal_position):
        accounts = journal.balances(connection, tables)
        rows, total_debit, total_credit = journal.trial_balance(connection, tables)
        years = sorted({key[0] for key in accounts})
        yearly = {year: journal.trial_balance(connection, tables, year) for year in years}
    with projector.reading("registers") as (connection, tables, registers_position):
        lines = {
            (r["budget_year"], r["project"], r["source"], r["channel"]): r
            for r in registers.budget_lines(connection, tables)
        }
    with projector.reading("budget_execution") as (connection, tables, execution_position):
        execution = {}
        for r in budget_execution.report(connection, tables):
            if r["source"] == CITY and any(r[f] for f in project_spend.CITY_FIGURES):
                figures = {f: r[f] for f in project_spend.CITY_FIGURES}
                available = figures["assigned"] + figures["carried_in"]
                figures["available"] = available - figures["committed"] - figures["cancelled"]
                execution[r["budget_year"], r["project"], CITY, r["channel"]] = figures

    with projector.reading(estimates.NAME) as (connection, tables, estimates_position):
        held = {
            year: estimates.estimate(connection, tables, year)
            for year in estimates.years(connection, tables)
        }
    if estimates_position == ledger.position():
        problems += _compare_estimates(held, ledger.get_estimates())

    if spend_position == journal_position:
        city_accounts = {k: v for k, v in accounts.items() if k[2] == CITY}
        counterpart_accounts = {k: v for k, v in accounts.items() if k[2] != CITY}
        problems += _compare("journal", city_accounts, spend, "project_spend")
        problems += _compare(
            "journal", counterpart_accounts, counterpart, "project_spend", COUNTERPART
        )
    if spend_position == registers_position:
        problems += _compare("registers", lines, spend, "project_spend")
    if spend_position == execution_position:
        problems += _compare("budget_execution", execution, spend, "project_spend")
    if total_debit != total_credit:
        problems.append(
            Problem(
                "journal", "unbalanced", "all years", f"debit {total_debit} ≠ credit {total_credit}"
            )
        )
    for year, (_, debit, credit) in yearly.items():
        if debit != credit:
            problems.append(
                Problem("journal", "unbalanced", str(year), f"debit {debit} ≠ credit {credit}")
            )

    statuses = projector.status()
    problems += stuck(statuses)
    for status in statuses:
        # the live model first, at the position it reflects then (a live follower may fold
        # more meanwhile), and a fold up to that position from the first event: a check
        # compares with a fold that shares nothing kept
        live = projector.snapshot(status.name)
        fresh = replay(ledger, upto_position=live[0], names=[status.name], snapshots=False)
        try:
            problems += _compare_snapshots(status.name, live, fresh.snapshot(status.name))
        finally:
            fresh.engine.dispose()
    problems += check_invariants(ledger)
    return problems


def _compare(
    name: str,
    left: dict[Any, dict[str, Any]],
    right: dict[Any, dict[str, Any]],
    other: str,
    figures: tuple[str, ...] = FIGURES,
) -> list[Problem]:
    problems = []
    for key in sorted(set(left) | set(right)):
        mine, theirs = left.get(key), right.get(key)
        label = "/".join(str(k) for k in key)
        if mine is None or theirs is None:
            empty = all(not (mine or theirs or {}).get(f) for f in figures)
            if not empty:
                where = other if mine is None else name
                problems.append(Problem(name, "missing", label, f"no row in {where}"))
            continue
        for figure in figures:
            if mine[figure] != theirs[figure]:
                detail = f"{figure} {mine[figure]} ≠ {theirs[figure]} in {other}"
                problems.append(Problem(name, "mismatch", label, detail))
    return problems


def _compare_estimates(
    held: dict[int, dict[str, Any] | None], records: list[dict[str, Any]]
) -> list[Problem]:
    problems = []
    for record in records:
        year = record["budget_year"]
        kept = held.pop(year, None)
        expected = {k: v for k, v in record.items() if k not in ("id", "budget_lines")}
        if kept is None:
            problems.append(Problem(estimates.NAME, "missing", str(year), "no row for the year"))
        elif kept != expected:
            parts = [k for k in expected if kept.get(k) != expected[k]]
            detail = f"{', '.join(parts)} differ from the estimate's record"
            problems.append(Problem(estimates.NAME, "mismatch", str(year), detail))
    for year in held:
        problems.append(Problem(estimates.NAME, "missing", str(year), "no estimate's record"))
    return problems


def _compare_snapshots(
    name: str,
    live: tuple[int, dict[str, list[dict[str, Any]]]],
    fresh: tuple[int, dict[str, list[dict[str, Any]]]],
) -> list[Problem]:
    (live_position, live_tables), (fresh_position, fresh_tables) = live, fresh
    if live_position != fresh_position:
        return [
            Problem(name, "position", str(live_position), f"fresh fold reached {fresh_position}")
        ]
    problems = []
    for table, rows in live_tables.items():
        expected = fresh_tables[table]
        if rows == expected:
            continue
        if len(rows) != len(expected):
            detail = f"{len(rows)} rows, a fresh fold has {len(expected)}"
            problems.append(Problem(name, "differs from a fresh fold", table, detail))
            continue
        for live_row, fresh_row in zip(rows, expected, strict=True):
            if live_row != fresh_row:
                problems.append(
                    Problem(name, "differs from a fresh fold", table, f"{live_row} ≠ {fresh_row}")
                )
                break
    return problems
