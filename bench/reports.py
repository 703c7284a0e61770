"""The program's reports and open data on the demo log at scale 1 and at ~1M events.

Source data: the cached demo logs of :mod:`bench.logs`, copied with their positions into a
fresh, migrated database per backend; the read models the reports read (``program``) and the
Merkle tree (the roots they name) rebuilt first (not measured).

Measured, in the same run and database, each the median of ``--repeat`` runs:

* **JSON**: the final review (``GET /api/reports/program?from=2011&to=2020``: the reader the
  route runs, evidence and root included). Baseline: a raw read of the rows it summarises:
  every row and column of the ``program`` read model's tables, fetched whole.
* **XLSX**: the same report as a workbook (``format=xlsx``), written to a file; rows written
  and rows per second.
* **IATI**: the IATI 2.03 XML, written to memory. **FDP**: the Fiscal Data Package ZIP.
  Baseline of both: a raw read of the rows they summarise (the transactions, applications,
  enterprises, activities and budget-execution tables of the read model), fetched whole.
* **XLSX writers**: the read model's transactions (the largest table: one row per money
  movement) written as one sheet of ``#,##0`` numbers and text, by XlsxWriter in its
  constant-memory mode and by openpyxl in its write-only mode: rows per second each. This is
  the measurement the workbooks' library was chosen by (README, "Benchmarks").

Goals (issue 13): the final review's JSON ≤ 1 s at 1M events; XLSX ≥ 20,000 rows/s written.
Printed, not asserted. Figures on a shared 2-core machine are noisy; compare within a run.

Run: ``.venv/bin/python -m bench.reports [--events 26000,1000000] [--backend
sqlite|postgresql|both] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

import openpyxl
import sqlalchemy as sa
import xlsxwriter
from openpyxl.cell import WriteOnlyCell

from api import exports, reports, workbooks
from api.read_side import ReadSide
from bench.logs import SEED, each_database, note
from bench.table import EVENTS, Figure, Size, at_full_size, label
from ledger.service import Ledger
from projections import merkle, program

T = TypeVar("T")
GOAL_JSON_SECONDS = 1.0
GOAL_XLSX_ROWS_PER_SECOND = 20_000
DATABASE = "nscl_bench_reports"
SUMMARISED = (
    "program_transactions",
    "program_applications",
    "program_enterprises",
    "program_activity_ids",
    "program_budget_execution",
)


def timed(run: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def median_of(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    results = [timed(run) for _ in range(repeat)]
    return statistics.median(s for s, _ in results), results[-1][1]


def raw_read(side: ReadSide, names: tuple[str, ...] | None = None) -> int:
    """Every row and column of the read model's tables (or of ``names``), fetched whole."""
    count = 0
    with side.projector.reading(program.NAME) as (connection, tables, _):
        for name, table in tables.items():
            if names is None or name in names:
                count += len(connection.execute(sa.select(table)).all())
    return count


def final_review(side: ReadSide) -> dict[str, Any]:
    query = reports.ProgramQuery.model_validate({"from": 2011, "to": 2020})
    answer: dict[str, Any] = reports.program_report(side, {}, query, None)
    return answer


def write_workbook(answer: dict[str, Any]) -> int:
    """The final review's workbook written to a file; the rows written."""
    descriptor, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(descriptor)
    try:
        workbooks.write("program", answer, path)
        book = openpyxl.load_workbook(path, read_only=True)
        rows = sum(sheet.max_row or 0 for sheet in book.worksheets)
        book.close()
        return rows
    finally:
        os.unlink(path)


def export(side: ReadSide, reader: Any) -> int:
    with reader(side, {}, None, None).file as file:
        return len(file.read())


def transaction_rows(side: ReadSide) -> list[tuple[Any, ...]]:
    with side.projector.reading(program.NAME) as (connection, tables, _):
        t = tables["program_transactions"]
        query = sa.select(
            t.c.position,
            t.c.budget_year,
            t.c.effective_date,
            t.c.project,
            t.c.channel,
            t.c.kind,
            t.c.amount,
            t.c.reference,
        ).order_by(t.c.position)
        return [tuple(row) for row in connection.execute(query)]


def xlsxwriter_rows(rows: list[tuple[Any, ...]], path: str) -> None:
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("Giao dịch")
    money = book.add_format({"num_format": "#,##0"})
    for r, (position, year, date, project, channel, kind, amount, reference) in enumerate(rows):
        sheet.write_number(r, 0, position)
        sheet.write_number(r, 1, year)
        sheet.write_string(r, 2, date.isoformat())
        sheet.write_string(r, 3, project)
        sheet.write_string(r, 4, channel)
        sheet.write_string(r, 5, kind)
        sheet.write_number(r, 6, amount, money)
        sheet.write_string(r, 7, reference or "")
    book.close()


def openpyxl_rows(rows: list[tuple[Any, ...]], path: str) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Giao dịch")
    for position, year, date, project, channel, kind, amount, reference in rows:
        money = WriteOnlyCell(sheet, value=amount)
        money.number_format = "#,##0"
        sheet.append(
            [position, year, date.isoformat(), project, channel, kind, money, reference or ""]
        )
    book.save(path)


def writers(rows: list[tuple[Any, ...]]) -> dict[str, float]:
    """Rows per second of each library writing ``rows``."""
    found = {}
    libraries: tuple[tuple[str, Callable[[list[tuple[Any, ...]], str], None]], ...] = (
        ("xlsxwriter", xlsxwriter_rows),
        ("openpyxl", openpyxl_rows),
    )
    for name, write in libraries:
        descriptor, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(descriptor)
        try:
            started = time.perf_counter()
            write(rows, path)
            seconds = time.perf_counter() - started
        finally:
            os.unlink(path)
        found[name] = len(rows) / seconds if seconds else 0.0
    return found


def measure(url: str, repeat: int) -> dict[str, Any]:
    ledger = Ledger(url)
    try:
        side = ReadSide(ledger)
        projector = side.projector
        rebuilt, _ = timed(lambda: [projector.rebuild(n) for n in (program.NAME, merkle.NAME)])
        note(f"program and the Merkle tree rebuilt in {rebuilt:.1f} s")
        raw_seconds, raw_rows = median_of(repeat, lambda: raw_read(side))
        json_seconds, answer = median_of(repeat, lambda: final_review(side))
        xlsx_seconds, xlsx_rows = median_of(repeat, lambda: write_workbook(answer))
        raw_open_seconds, raw_open_rows = median_of(repeat, lambda: raw_read(side, SUMMARISED))
        iati_seconds, iati_bytes = median_of(repeat, lambda: export(side, exports.iati_xml))
        fdp_seconds, fdp_bytes = median_of(
            repeat, lambda: export(side, exports.fiscal_data_package)
        )
        rows = transaction_rows(side)
        speeds = writers(rows)
        return {
            "events": ledger.position(),
            "raw_rows": raw_rows,
            "raw_seconds": raw_seconds,
            "json_seconds": json_seconds,
            "json_bytes": len(json.dumps(answer, default=str)),
            "xlsx_seconds": xlsx_seconds,
            "xlsx_rows": xlsx_rows,
            "raw_open_rows": raw_open_rows,
            "raw_open_seconds": raw_open_seconds,
            "iati_seconds": iati_seconds,
            "iati_bytes": iati_bytes,
            "fdp_seconds": fdp_seconds,
            "fdp_bytes": fdp_bytes,
            "writer_rows": len(rows),
            "xlsxwriter_rows_per_second": speeds["xlsxwriter"],
            "openpyxl_rows_per_second": speeds["openpyxl"],
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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    results = []
    for source, backend, url in each_database(args.events, args.backend, DATABASE, args.seed):
        note(f"{backend}: scale {source.scale:g}, {source.events:,} events")
        result = measure(url, args.repeat)
        results.append((source.scale, backend, result))
        print(json.dumps({"scale": source.scale, "backend": backend, **result}), flush=True)
    print()
    print(
        f"{'scale':>6} {'backend':<10} {'events':>10} | {'raw rows':>9} {'raw s':>6} "
        f"{'JSON s':>6} {'×raw':>5} | {'XLSX s':>6} {'rows':>5} | {'raw open':>8} "
        f"{'raw s':>6} {'IATI s':>6} {'FDP s':>6} | {'writer rows':>11} {'XlsxWriter/s':>12} "
        f"{'openpyxl/s':>10}"
    )
    for scale, backend, r in results:
        print(
            f"{scale:>6g} {backend:<10} {r['events']:>10,} | {r['raw_rows']:>9,} "
            f"{r['raw_seconds']:>6.3f} {r['json_seconds']:>6.3f} "
            f"{r['json_seconds'] / r['raw_seconds']:>5.2f} | {r['xlsx_seconds']:>6.3f} "
            f"{r['xlsx_rows']:>5} | {r['raw_open_rows']:>8,} {r['raw_open_seconds']:>6.3f} "
            f"{r['iati_seconds']:>6.3f} {r['fdp_seconds']:>6.3f} | {r['writer_rows']:>11,} "
            f"{r['xlsxwriter_rows_per_second']:>12,.0f} {r['openpyxl_rows_per_second']:>10,.0f}"
        )
    worst = max((r["json_seconds"] for _, _, r in results), default=0.0)
    print(
        f"goal: the final review's JSON ≤ {GOAL_JSON_SECONDS:g} s at 1M events — slowest "
        f"{worst:.3f} s: {'met' if worst <= GOAL_JSON_SECONDS else 'NOT met'}"
    )
    slowest = min((r["xlsxwriter_rows_per_second"] for _, _, r in results), default=0.0)
    print(
        f"goal: XLSX ≥ {GOAL_XLSX_ROWS_PER_SECOND:,} rows/s — slowest {slowest:,.0f} rows/s "
        f"(XlsxWriter): {'met' if slowest >= GOAL_XLSX_ROWS_PER_SECOND else 'NOT met'}"
    )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: the final review's JSON beside a raw read of the rows it
    summarises, and the workbook writer's rows per second beside openpyxl's, each backend
    (measured in this process: the read model is rebuilt first, not measured)."""
    figures = []
    for _, backend, url in each_database(str(EVENTS[size]), "both", DATABASE):
        r = measure(url, repeat=3)
        figures.append(
            Figure(
                label("final review 2011–2020, JSON", backend, r["events"]),
                r["json_seconds"],
                "s",
                r["raw_seconds"],
                "raw read of its read model's rows",
                f"≤ {GOAL_JSON_SECONDS:g} s at 1M events",
                at_full_size(size, r["json_seconds"] <= GOAL_JSON_SECONDS),
            )
        )
        rate = r["xlsxwriter_rows_per_second"]
        figures.append(
            Figure(
                label("report workbook rows (XlsxWriter)", backend)
                + f", {r['writer_rows']:,} rows",
                rate,
                "rows/s",
                r["openpyxl_rows_per_second"],
                "openpyxl write-only",
                f"≥ {GOAL_XLSX_ROWS_PER_SECOND:,} rows/s",
                rate >= GOAL_XLSX_ROWS_PER_SECOND,
            )
        )
    return figures


if __name__ == "__main__":
    main()
