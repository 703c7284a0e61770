"""Drafting a year's estimate, and closing a year, on the demo log at scale 1 and at ~1M events.

Source data: the cached demo logs of :mod:`bench.logs`, copied with their positions into a
fresh, migrated database per backend, then every read model rebuilt (not measured).

Measured, in the same run and database:

* **draft**: ``Ledger.draft_estimate`` of ``--year`` (default 2021: the demo estimates and
  closes every year up to 2020, which it leaves open), prepared in the year before: the read
  models' inputs read at one position (``projections/estimate_inputs.py``: a few grouped
  queries), the method, the ``Drafted`` event saved. Also the inputs' read alone. Median of
  ``--repeat`` drafts (each a new version).
  Baseline: a raw read of the same rows: every row and column of the read-model tables the
  inputs group (applications, activities, target progress), fetched whole.
* **close**: ``Ledger.close_budget_year`` of the year before (carry-over of every record's
  unpaid commitment to the next year's line, cancellation of the rest), once.
  Baseline: a raw read of the same rows: every event of the year's budget lines, with its
  state JSON-decoded.

Goal (issue 12): a draft is read from projections, never a replay of the log: ≤ 1 s at 1M
events. Printed, not asserted. Figures on a shared 2-core machine are noisy.

Run: ``.venv/bin/python -m bench.estimate [--events 26000,1000000] [--backend
sqlite|postgresql|both] [--year 2021] [--repeat 5]`` (``--events 100000`` for a shorter run:
1M events take 10–16 minutes to generate the first time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from bench.logs import SEED, each_database, note
from bench.table import EVENTS, Figure, Size, at_full_size, label
from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.budget_line import BUDGET_LINES
from ledger.service import Ledger
from projections import estimate_inputs
from projections.projector import Projector

T = TypeVar("T")
GOAL_DRAFT_SECONDS = 1.0
DATABASE = "nscl_bench_estimate"


def timed(run: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def person(ledger: Ledger, name: str, role: str, department: str) -> Actor:
    granted = ledger.grant_access(
        c.GrantAccess(name=name, role=role, department=department), SYSTEM
    )
    return ledger.authenticate(granted.token)


def raw_inputs(projector: Projector) -> int:
    """Every row of the tables the inputs read, fetched whole: how many."""
    count = 0
    with estimate_inputs.reading(projector) as (connection, tables, _):
        for name in ("register_applications", "register_activities", "target_progress"):
            count += len(connection.execute(sa.select(tables[name])).all())
    return count


def raw_year_lines(ledger: Ledger, year: int) -> int:
    """Every event of the year's budget lines, its state decoded: how many."""
    ids = [i for i, key in BUDGET_LINES.items() if key[0] == year]
    table = ledger.events_table
    query = sa.select(table.c.state).where(table.c.originator_id.in_(ids))
    count = 0
    with ledger.engine.connect() as connection:
        for (state,) in connection.execute(query):
            json.loads(state if isinstance(state, bytes) else bytes(state))
            count += 1
    return count


def measure(url: str, year: int, repeat: int) -> dict[str, Any]:
    ledger = Ledger(url)
    try:
        projector = Projector(ledger)
        rebuilt, _ = timed(projector.rebuild)
        note(f"read models rebuilt in {rebuilt:.1f} s")
        officer = person(ledger, "Cán bộ lập dự toán", "officer", "SKHCN")
        finance = person(ledger, "Cán bộ tài chính", "finance", "STC")
        estimate_inputs.install(ledger, projector)
        raw_seconds, raw_rows = min(timed(lambda: raw_inputs(projector)) for _ in range(repeat))
        inputs = [timed(lambda: estimate_inputs.read_inputs(projector, year))[0]]
        inputs += [timed(lambda: estimate_inputs.read_inputs(projector, year))[0]]
        command = c.DraftEstimate(budget_year=year, prepared_on=dt.date(year - 1, 7, 1))
        drafts = []
        lines = 0
        for _ in range(repeat):
            seconds, written = timed(lambda: ledger.draft_estimate(command, officer))
            drafts.append(seconds)
            lines = len(written.extra["lines"])
        closing = year - 1
        raw_close_seconds, raw_close_rows = timed(lambda: raw_year_lines(ledger, closing))
        close = c.CloseBudgetYear(budget_year=closing, closed_on=dt.date(year, 1, 20))
        close_seconds, closed = timed(lambda: ledger.close_budget_year(close, finance))
        return {
            "events": ledger.position(),
            "raw_rows": raw_rows,
            "raw_seconds": raw_seconds,
            "inputs_seconds": statistics.median(inputs),
            "draft_seconds": statistics.median(drafts),
            "draft_max_seconds": max(drafts),
            "lines": lines,
            "raw_close_rows": raw_close_rows,
            "raw_close_seconds": raw_close_seconds,
            "close_seconds": close_seconds,
            "carried_out": int(closed.extra["carried_out"]),
            "cancelled": int(closed.extra["cancelled"]),
        }
    finally:
        ledger.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--events",
        default="26000,1000000",
        help="comma-separated event counts of the demo logs (26000: scale 1)",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--year", type=int, default=2021, help="the year drafted")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    rows = []
    for source, backend, url in each_database(args.events, args.backend, DATABASE, args.seed):
        note(f"{backend}: scale {source.scale:g}, {source.events:,} events")
        result = measure(url, args.year, args.repeat)
        rows.append((source.scale, backend, result))
        print(json.dumps({"scale": source.scale, "backend": backend, **result}), flush=True)
    print()
    print(
        f"{'scale':>6} {'backend':<10} {'events':>10} | {'raw rows':>9} {'raw s':>7} "
        f"{'inputs s':>8} {'draft s':>8} {'lines':>5} | {'raw close':>9} {'raw s':>7} "
        f"{'close s':>8}"
    )
    for scale, backend, r in rows:
        print(
            f"{scale:>6g} {backend:<10} {r['events']:>10,} | {r['raw_rows']:>9,} "
            f"{r['raw_seconds']:>7.3f} {r['inputs_seconds']:>8.3f} {r['draft_seconds']:>8.3f} "
            f"{r['lines']:>5} | {r['raw_close_rows']:>9,} {r['raw_close_seconds']:>7.3f} "
            f"{r['close_seconds']:>8.3f}"
        )
    worst = max((r["draft_seconds"] for _, _, r in rows), default=0.0)
    verdict = "met" if worst <= GOAL_DRAFT_SECONDS else "NOT met"
    print(
        f"goal: a draft ≤ {GOAL_DRAFT_SECONDS:g} s at 1M events — slowest {worst:.3f} s: {verdict}"
    )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: drafting next year's estimate (median of 3) beside a raw read of
    the read-model rows its inputs group, and closing the year before beside a raw read of
    the year's budget-line events, each backend."""
    figures = []
    for _, backend, url in each_database(str(EVENTS[size]), "both", DATABASE):
        r = measure(url, 2021, 3)
        figures.append(
            Figure(
                label("draft the 2021 estimate", backend, r["events"]),
                r["draft_seconds"],
                "s",
                r["raw_seconds"],
                "raw read of the rows its inputs group",
                f"≤ {GOAL_DRAFT_SECONDS:g} s at 1M events",
                at_full_size(size, r["draft_seconds"] <= GOAL_DRAFT_SECONDS),
            )
        )
        figures.append(
            Figure(
                label("close budget year 2020", backend),
                r["close_seconds"],
                "s",
                r["raw_close_seconds"],
                "raw read of the year's budget-line events",
            )
        )
    return figures


if __name__ == "__main__":
    main()
