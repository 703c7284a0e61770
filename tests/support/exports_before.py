"""The evidence exports' writers as they were before issue 16 (openpyxl, the csv module, the
event log's line loop), kept verbatim as the reference the faster writers are held to: for the
same rows they must write the same CSV and JSONL bytes and an XLSX with the same cells,
formats and layout (``tests/integration/test_export_writers.py``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Connection, Engine, Select, Table, func, select

from ledger import log_gaps, merkle
from ledger.catalogue import department_name
from ledger.event_log import stored_events
from projections import audit_trail, checkpoints, evidence
from projections.audit_trail import day, vnd
from projections.evidence import (
    COLUMNS,
    DATE_FORMAT,
    HEADERS,
    MONEY_FORMAT,
    TIME_FORMAT,
    TITLE,
    AuditFilters,
    amount_details,
    main_amount,
    moment,
    references_text,
)
from projections.projector import Projector

BATCH = 2000


def _rows_query(trail: Table, leaves: Table | None, f: AuditFilters) -> Select[Any]:
    leaf: Any = trail.c.leaf_hash
    source: Any = trail
    if leaves is not None:
        leaf = func.coalesce(trail.c.leaf_hash, leaves.c.leaf_hash)
        source = trail.outerjoin(leaves, leaves.c.position == trail.c.position)
    by = trail.c.position.asc() if f.order == "asc" else trail.c.position.desc()
    query = select(
        trail.c.position,
        trail.c.recorded_at,
        trail.c.effective_date,
        trail.c.record_type,
        trail.c.record_id,
        trail.c.event_type,
        trail.c.actor,
        trail.c.actor_name,
        trail.c.department,
        trail.c.amounts,
        trail.c.references,
        trail.c.summary,
        leaf.label("leaf_hash"),
    ).select_from(source)
    conditions = audit_trail.conditions(
        trail, f.record_id, f.actor, f.department, f.event_type, f.from_, f.to
    )
    return query.where(*conditions).order_by(by)


def export(
    projector: Projector,
    out: IO[bytes],
    format: str,
    f: AuditFilters,
    now: dt.datetime,
    personnel: bool = True,
) -> int:
    """``evidence.export`` as it was (the facts are made by today's ``evidence.about``)."""
    with projector.reading(evidence.NAME) as (connection, tables, position):
        trail = tables["audit_trail"]
        conditions = audit_trail.conditions(
            trail, f.record_id, f.actor, f.department, f.event_type, f.from_, f.to
        )
        count = connection.execute(
            select(func.count()).select_from(trail).where(*conditions)
        ).scalar_one()
        checkpoint = checkpoints.latest(connection, position)
        facts = evidence.about(f, position, int(count), checkpoint, now.astimezone(dt.UTC))
        query = _rows_query(trail, _leaves(projector, connection), f)
        found = connection.execute(query.execution_options(yield_per=BATCH)).mappings()
        rows = audit_trail.as_read(found, personnel)
        write = _write_xlsx if format == "xlsx" else _write_csv
        return write(out, facts, rows)


def _leaves(projector: Projector, connection: Connection) -> Table | None:
    return evidence._leaves(projector, connection)


#: how many text columns stand between the dates and the money (:func:`_texts`)
BEFORE_MONEY = evidence.MONEY_COLUMN - 3


def _texts(row: Any) -> tuple[str, ...]:
    return (
        row["record_type"],
        str(row["record_id"]),
        row["event_type"],
        row["actor"],
        row["actor_name"] or "",
        row["department"],
        department_name(row["department"]) or "",
        amount_details(row["amounts"]),
        references_text(row["references"]),
        row["summary"],
        row["leaf_hash"] or "",
    )


def _write_csv(out: IO[bytes], facts: Sequence[tuple[str, str, str | int]], rows: Any) -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    for label, key, value in facts:
        buffer.write(f"# {label} ({key}): {value}\r\n")
    writer.writerow(HEADERS)
    written = 0
    for row in rows:
        main = main_amount(row["amounts"])
        texts = _texts(row)
        writer.writerow(
            (
                row["position"],
                moment(row["recorded_at"]),
                day(row["effective_date"]),
                *texts[:BEFORE_MONEY],
                "" if main is None else vnd(main),
                *texts[BEFORE_MONEY:],
            )
        )
        written += 1
        if written % BATCH == 0:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    return written


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text_cell(sheet: Any, text: str) -> Any:
    text = _ILLEGAL.sub("\ufffd", text)
    if not text.startswith("="):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _styled(sheet: Any, value: Any, number_format: str) -> Any:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def _write_xlsx(out: IO[bytes], facts: Sequence[tuple[str, str, str | int]], rows: Any) -> int:
    book = Workbook(write_only=True)
    book.properties.title = TITLE
    book.properties.creator = "NSCL ledger"
    sheet = book.create_sheet(evidence.SHEET)
    info = book.create_sheet(evidence.ABOUT_SHEET)
    bold = Font(bold=True)

    def header(target: Any, names: Sequence[str]) -> list[Any]:
        cells = []
        for name in names:
            cell = WriteOnlyCell(target, value=name)
            cell.font = bold
            cells.append(cell)
        return cells

    for number, width in enumerate((44, 24, 110), start=1):
        info.column_dimensions[get_column_letter(number)].width = width
    info.append(header(info, ("Mục", "Khóa", "Giá trị")))
    for label, key, value in facts:
        info.append([label, key, _text_cell(info, value) if isinstance(value, str) else value])

    for number, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.append(header(sheet, HEADERS))
    written = 0
    for row in rows:
        main = main_amount(row["amounts"])
        recorded = row["recorded_at"].replace(microsecond=0)
        texts = [_text_cell(sheet, text) for text in _texts(row)]
        sheet.append(
            [
                row["position"],
                _styled(sheet, recorded, TIME_FORMAT),
                _styled(sheet, row["effective_date"], DATE_FORMAT),
                *texts[:BEFORE_MONEY],
                None if main is None else _styled(sheet, main, MONEY_FORMAT),
                *texts[BEFORE_MONEY:],
            ]
        )
        written += 1
    last = get_column_letter(len(COLUMNS))
    sheet.auto_filter.ref = f"A1:{last}{written + 1}"
    book.save(out)
    return written


def events_lines(engine: Engine, events_table: Any, upto: int) -> bytes:
    """The lines after the header that ``event_log.export`` wrote, as it wrote them."""
    out = io.BytesIO()
    hasher = merkle.LeafHasher()
    with engine.connect() as connection, connection.begin():
        gaps = log_gaps.recorded(connection, 0, upto + 1)
        for entry in log_gaps.merged(stored_events(connection, events_table, upto), gaps):
            if isinstance(entry, log_gaps.RecordedGap):
                data = entry.leaf_data()
            else:
                position, originator_id, version, topic, state = entry
                data = hasher.data(originator_id, version, position, state, topic)
            leaf = merkle.leaf_hash(data)
            out.write(b'{"leaf_hash":"%s",%s\n' % (leaf.hex().encode(), data[1:]))
    return out.getvalue()
