"""The evidence exports at ~100k and ~1M events: the audit trail as XLSX and CSV, the event
log as JSONL, each beside a baseline of the same run.

Source data: the cached demo log of :mod:`bench.logs` (~1M events; never generated here if it
is cached), its first N events copied with their positions into a fresh, migrated database per
backend (a log as it stood after N events), and the audit trail and the Merkle tree rebuilt
(not measured).

Measured, each in its own process (so that its peak resident memory is its own), writing a
file in a temporary folder, rows per second of the wall clock and of the process's CPU time
(the machine is shared: the CPU figure is what a quiet machine would give):

* **XLSX, XlsxWriter** (``constant_memory``): ``evidence.export(…, "xlsx")``, what the project
  uses. **XLSX, openpyxl** (write-only): the same export with the same rows, sheets, headers,
  widths, frozen pane, filter and formats written by openpyxl's write-only workbook
  (:func:`openpyxl_writer`, what the project used before). The faster is the project's.
* **CSV**: ``evidence.export(…, "csv")``. Baseline: the export's query, every row fetched
  and nothing written.
* **JSONL**: ``event_log.export`` (``ledger export events``). Baseline: every stored event
  read as the export reads it (``event_log.stored_events``), nothing written.

Goals (issue 16): XLSX ≥ 20,000 rows/s; CSV and JSONL ≥ 100,000 rows/s; memory bounded (the
peak does not grow with the rows). Printed, not asserted. Figures on a shared 2-core machine
are noisy; compare within a run.

Run: ``.venv/bin/python -m bench.exports [--events 100000,1000000] [--backend
sqlite|postgresql|both] [--formats xlsx,openpyxl,csv,jsonl]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from bench.common import measure_in_child
from bench.logs import SEED, each_database, loaded_database, note, peak_rss_mib, source_log
from bench.table import EVENTS, Figure, Size, at_full_size
from bench.table import label as labelled
from ledger import event_log
from ledger.catalogue import department_name
from ledger.service import Ledger
from projections import evidence, merkle
from projections.evidence import Facts, TextRow
from projections.projector import Projector

DATABASE = "nscl_bench_exports"
GOALS = {"xlsx": 20_000, "openpyxl": 20_000, "csv": 100_000, "jsonl": 100_000}
FORMATS = ("xlsx", "openpyxl", "csv", "jsonl")
LABELS = {
    "xlsx": "XLSX, XlsxWriter constant_memory (the project's)",
    "openpyxl": "XLSX, openpyxl write-only",
    "csv": "CSV",
    "jsonl": "JSONL (event log)",
}


# -- openpyxl's write-only workbook, the same sheets -----------------------------------------


def openpyxl_writer(out: IO[bytes], facts: Facts, rows: Iterable[TextRow]) -> int:
    """The audit trail's XLSX as the project wrote it before, with openpyxl's write-only
    workbook: the same sheets, header, widths, frozen pane, print titles, filter and number
    formats, the same cell values as :func:`projections.evidence.write_xlsx`."""
    book = Workbook(write_only=True)
    book.properties.title = evidence.TITLE
    book.properties.creator = "NSCL ledger"
    sheet = book.create_sheet(evidence.SHEET)
    info = book.create_sheet(evidence.ABOUT_SHEET)
    bold = Font(bold=True)

    def header(target: Any, names: Iterable[str]) -> list[Any]:
        cells = []
        for name in names:
            cell = WriteOnlyCell(target, value=name)
            cell.font = bold
            cells.append(cell)
        return cells

    def styled(value: Any, number_format: str) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = number_format
        return cell

    def text(value: str) -> Any:
        value = evidence.xlsx_text(value)
        if not value.startswith("="):
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell

    for number, width in enumerate((44, 24, 110), start=1):
        info.column_dimensions[get_column_letter(number)].width = width
    info.append(header(info, ("Mục", "Khóa", "Giá trị")))
    for label, key, value in facts:
        info.append([label, key, text(value) if isinstance(value, str) else value])
    for number, (_, width) in enumerate(evidence.COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.append(header(sheet, evidence.HEADERS))
    sums = evidence.Sums()
    written = 0
    for row in rows:
        position, recorded, effective, kind, record, event, actor, name, unit = row[:9]
        amounts, references, summary, leaf = row[9:]
        main, _, details = sums(amounts)
        sheet.append(
            [
                position,
                styled(evidence.xlsx_serial(recorded), evidence.TIME_FORMAT),
                styled(evidence.xlsx_serial(effective), evidence.DATE_FORMAT),
                text(kind),
                evidence.canonical_uuid(record),
                text(event),
                text(actor),
                text(name or ""),
                text(unit),
                text(department_name(unit) or ""),
                None if main is None else styled(main, evidence.MONEY_FORMAT),
                text(details),
                text(evidence.references_text(json.loads(references))),
                text(summary),
                leaf or "",
            ]
        )
        written += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(evidence.COLUMNS))}{written + 1}"
    book.save(out)
    return written


# -- measurements (each in a process of its own) ------------------------------------------------


def _timed(run: Callable[[], int]) -> dict[str, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rows": rows, "seconds": wall, "cpu_seconds": cpu}


def measure(kind: str, url: str) -> dict[str, Any]:
    ledger = Ledger(url)
    projector = Projector(ledger)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"export.{kind}"
            with path.open("wb") as out:
                if kind == "jsonl":
                    upto = ledger.position()
                    result = _timed(
                        lambda: (
                            event_log.export(
                                ledger.engine, ledger.events_table, out, upto, None
                            ).checked
                        )
                    )
                elif kind == "jsonl-read":
                    result = _timed(lambda: _read_events(ledger))
                elif kind == "csv-read":
                    result = _timed(lambda: _read_trail(projector))
                else:
                    writer = openpyxl_writer if kind == "openpyxl" else None
                    fmt: evidence.Format = "csv" if kind == "csv" else "xlsx"
                    result = _timed(
                        lambda: evidence.export(projector, out, fmt, writer=writer).rows
                    )
            result["bytes"] = path.stat().st_size
        return result
    finally:
        ledger.engine.dispose()


def _read_events(ledger: Ledger) -> int:
    count = 0
    with ledger.engine.connect() as connection, connection.begin():
        for _ in event_log.stored_events(connection, ledger.events_table):
            count += 1
    return count


def _read_trail(projector: Projector) -> int:
    """The CSV export's query, every row fetched as the export fetches it, nothing written."""
    count = 0
    with projector.reading(evidence.NAME) as (connection, tables, _):
        postgres = connection.dialect.name == "postgresql"
        leaves = evidence._leaves(projector, connection)
        query = evidence._rows_query(
            tables["audit_trail"], leaves, evidence.AuditFilters(), postgres
        )
        for _ in connection.execute(query.execution_options(yield_per=evidence.BATCH)):
            count += 1
    return count


def prepare(url: str) -> int:
    """Rebuild the audit trail and the Merkle tree; the trail's rows."""
    ledger = Ledger(url)
    try:
        projector = Projector(ledger)
        started = time.perf_counter()
        for name in (evidence.NAME, merkle.NAME):
            projector.rebuild(name)
        note(f"audit trail and Merkle tree rebuilt in {time.perf_counter() - started:.0f} s")
        with projector.reading(evidence.NAME) as (connection, tables, _):
            trail = tables["audit_trail"]
            return int(connection.execute(select(func.count()).select_from(trail)).scalar_one())
    finally:
        ledger.engine.dispose()


BASELINES = {"csv": "csv-read", "jsonl": "jsonl-read", "xlsx": "openpyxl"}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", default="100000,1000000", help="comma-separated counts")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--formats", default=",".join(FORMATS), help="of " + ",".join(FORMATS))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        result = measure(args.measure, args.url)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    counts = [int(n.replace("_", "")) for n in args.events.split(",") if n.strip()]
    formats = [f for f in args.formats.split(",") if f]
    source = source_log(max(counts), args.seed)
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    results: list[tuple[str, int, str, dict[str, Any], dict[str, Any] | None]] = []
    for count in counts:
        for backend in backends:
            with loaded_database(backend, source, DATABASE, upto=count) as url:
                trail_rows = prepare(url)
                measured: dict[str, dict[str, Any]] = {}
                for kind in [*formats, *(BASELINES[f] for f in ("csv", "jsonl") if f in formats)]:
                    measured[kind] = done = measure_in_child("bench.exports", kind, url)
                    note(
                        f"{backend} {count:,}: {kind} {done['rows']:,} rows in "
                        f"{done['seconds']:.1f} s ({done['rows'] / done['seconds']:,.0f}/s; "
                        f"CPU {done['cpu_seconds']:.1f} s), {done['peak_rss_mib']:.0f} MiB"
                    )
                    print(json.dumps({"backend": backend, "events": count, "kind": kind, **done}))
                for kind in formats:
                    base = measured.get(BASELINES.get(kind, ""))
                    results.append((backend, trail_rows, kind, measured[kind], base))
    _table(results)


def _table(results: list[tuple[str, int, str, dict[str, Any], dict[str, Any] | None]]) -> None:
    print(
        f"\n{'export':<49} {'backend':<10} {'rows':>9} | {'rows/s':>8} {'CPU rows/s':>10} "
        f"{'peak MiB':>8} | {'baseline/s':>10} {'ratio':>5} | {'goal':>8} {'met?':>4}"
    )
    for backend, _, kind, r, base in results:
        rate = r["rows"] / r["seconds"]
        cpu_rate = r["rows"] / r["cpu_seconds"] if r["cpu_seconds"] else 0.0
        base_rate = base["rows"] / base["seconds"] if base else None
        ratio = f"{rate / base_rate:>5.2f}" if base_rate else f"{'':>5}"
        base_text = f"{base_rate:>10,.0f}" if base_rate else f"{'':>10}"
        goal = GOALS[kind]
        print(
            f"{LABELS[kind]:<49} {backend:<10} {r['rows']:>9,} | {rate:>8,.0f} {cpu_rate:>10,.0f} "
            f"{r['peak_rss_mib']:>8.0f} | {base_text} {ratio} | {goal:>8,} "
            f"{'yes' if rate >= goal else 'no':>4}"
        )
    print(
        "baselines: XLSX against openpyxl write-only (same rows, same sheets); CSV against "
        "its query's rows fetched and not written; JSONL against the stored events read and "
        "not written. met? is judged on the wall clock; CPU rows/s is the process's own time."
    )


def summary(size: Size) -> list[Figure]:
    """For ``make bench``: each export's rows per second (wall clock) beside its baseline
    (XLSX: openpyxl's write-only workbook; CSV: the export's query, nothing written; JSONL:
    the stored events read, nothing written), each backend."""
    figures = []
    names = {"xlsx": "openpyxl write-only", "csv": "the query alone", "jsonl": "the read alone"}
    for _, backend, url in each_database(str(EVENTS[size]), "both", DATABASE):
        prepare(url)
        measured = {
            kind: measure_in_child("bench.exports", kind, url)
            for kind in ("xlsx", "openpyxl", "csv", "csv-read", "jsonl", "jsonl-read")
        }
        for kind, what in (
            ("xlsx", "audit trail as XLSX (XlsxWriter)"),
            ("csv", "audit trail as CSV"),
            ("jsonl", "event log as JSONL"),
        ):
            done, base = measured[kind], measured[BASELINES[kind]]
            rate = done["rows"] / done["seconds"]
            figures.append(
                Figure(
                    labelled(what, backend) + f", {done['rows']:,} rows",
                    rate,
                    "rows/s",
                    base["rows"] / base["seconds"],
                    names[kind],
                    f"≥ {GOALS[kind]:,} rows/s at 1M events",
                    at_full_size(size, rate >= GOALS[kind]),
                )
            )
    return figures


if __name__ == "__main__":
    main()
