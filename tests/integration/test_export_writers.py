"""The faster evidence writers of issue 16 write what the writers before them wrote: the CSV
and the JSONL byte for byte, the XLSX (now XlsxWriter, before openpyxl) with the same cells,
number formats, header, widths, frozen pane, filter and facts; for every filter and both kinds
of reader. The writers as they were are kept in ``tests/support/exports_before.py``."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any
from uuid import UUID

import openpyxl
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import commands as c
from ledger import event_log
from ledger.service import Ledger
from projections import checkpoints, evidence
from projections.projector import Projector
from tests.support import exports_before as before
from tests.support.demo import load_demo
from tests.support.people import People

NOW = dt.datetime(2026, 12, 6, 1, 2, 3, tzinfo=dt.UTC)
#: text a user typed, as it reached the log before commands refused some of it
AWKWARD = ('QĐ "7", số 12', "dòng một\ndòng hai\r\nba", "=1+2", "chuông\x07", "a,b", " ")


@pytest.fixture
def projector(ledger: Ledger, people: People) -> Projector:
    """The demo at a small scale, then budget decisions numbered with awkward text."""
    load_demo(ledger, scale=0.02)
    for number, text in enumerate(AWKWARD):
        ledger.assign_budget(
            c.AssignBudget.model_construct(
                budget_year=2020,
                project="DA1",
                source="city_budget",
                amount=1_000_000 + number,
                decision_no=text,
                decided_on=dt.date(2020, 1, 5),
            ),
            people.finance,
        )
    projector = Projector(ledger)
    projector.catch_up()
    return projector


def filter_cases(projector: Projector) -> list[dict[str, Any]]:
    """No filter, each filter alone, filters together, in both orders."""
    with projector.reading(evidence.NAME) as (connection, tables, _):
        trail = tables["audit_trail"]
        record = connection.execute(
            trail.select().where(trail.c.event_type == "SupportApplication.Approved").limit(1)
        ).one()
    return [
        {},
        {"order": "desc"},
        {"record_id": record.record_id},
        {"actor": record.actor},
        {"department": "STC", "order": "desc"},
        {"event_type": "BudgetLine.Assigned"},
        {"from_": dt.date(2016, 3, 1), "to": dt.date(2017, 6, 30)},
        {"record_id": UUID(int=1)},
    ]


def new_file(projector: Projector, fmt: str, filters: dict[str, Any], personnel: bool) -> bytes:
    out = io.BytesIO()
    evidence.export(
        projector,
        out,
        fmt,  # type: ignore[arg-type]
        evidence.AuditFilters(**filters),
        now=NOW,
        personnel=personnel,
    )
    return out.getvalue()


def old_file(projector: Projector, fmt: str, filters: dict[str, Any], personnel: bool) -> bytes:
    out = io.BytesIO()
    before.export(projector, out, fmt, evidence.AuditFilters(**filters), NOW, personnel)
    return out.getvalue()


def test_the_csv_is_byte_for_byte_what_the_csv_module_wrote(projector: Projector) -> None:
    # Step 1: the awkward texts are in the trail, with commas, quotes and line breaks.
    whole = old_file(projector, "csv", {}, True)
    assert b'"s\xe1\xbb\x91 quy\xe1\xba\xbft \xc4\x91\xe1\xbb\x8bnh: Q\xc4\x90 ""7"", s' in whole
    assert "dòng một\ndòng hai\r\nba".encode() in whole

    # Step 2: for every filter and either reader, the same bytes as before.
    for filters in filter_cases(projector):
        for personnel in (True, False):
            new = new_file(projector, "csv", filters, personnel)
            assert new == old_file(projector, "csv", filters, personnel), (filters, personnel)

    # Step 3: a reader who may not read personnel data sees their rows withheld, as before.
    withheld = new_file(projector, "csv", {}, False).decode("utf-8-sig")
    assert withheld.count("nội dung là thông tin nhân sự, đã ẩn") > 5


ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def shown(value: Any) -> Any:
    """A cell's value as a spreadsheet shows it: an empty text is no value, and OOXML's
    escapes of characters (``_x000D_``: a carriage return, which XlsxWriter writes so and
    openpyxl reads back as it is) are the characters they stand for."""
    if not isinstance(value, str):
        return value
    return ESCAPED.sub(lambda m: chr(int(m[1], 16)), value) or None


def cells(data: bytes) -> dict[str, Any]:
    """Everything a reader of the workbook sees: per sheet, each row's values (as
    :func:`shown`) and number formats, the header's fonts, the column widths, the frozen pane,
    the filter, the print titles; and the workbook's title and author."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    seen: dict[str, Any] = {
        "sheets": book.sheetnames,
        "title": book.properties.title,
        "creator": book.properties.creator,
    }
    for sheet in book.worksheets:
        rows = [
            [(shown(cell.value), cell.number_format, cell.data_type) for cell in row]
            for row in sheet.iter_rows()
        ]
        while rows and all(value is None for value, _, _ in rows[-1]):
            rows.pop()
        seen[sheet.title] = {
            "rows": [_trimmed(row) for row in rows],
            "bold header": [cell.font.b for cell in next(sheet.iter_rows())],
            "widths": {k: d.width for k, d in sheet.column_dimensions.items()},
            "frozen": sheet.freeze_panes,
            "filter": sheet.auto_filter.ref,
            "print titles": sheet.print_title_rows,
        }
    return seen


def first_difference(new: dict[str, Any], old: dict[str, Any]) -> Any:
    """Where two :func:`cells` differ first (None: nowhere), to say so when they do."""
    for key, value in new.items():
        if not isinstance(value, dict) or value == old[key]:
            if value != old[key]:
                return key, value, old[key]
            continue
        for part, seen in value.items():
            if part == "rows":
                for number, (a, b) in enumerate(zip(seen, old[key][part], strict=True)):
                    if a != b:
                        differing = [(x, y) for x, y in zip(a, b, strict=False) if x != y]
                        return key, number, differing, len(a), len(b)
            elif seen != old[key][part]:
                return key, part, seen, old[key][part]
    return None


def _trimmed(row: list[tuple[Any, str, str]]) -> list[tuple[Any, str, str]]:
    """A row's cells up to its last one with a value (a blank cell's type is no content)."""
    kept = [cell if cell[0] is not None else (None, "General", "n") for cell in row]
    while kept and kept[-1][0] is None:
        kept.pop()
    return kept


def test_the_xlsx_holds_the_cells_formats_and_layout_openpyxl_wrote(projector: Projector) -> None:
    for filters in filter_cases(projector):
        for personnel in (True, False):
            new = cells(new_file(projector, "xlsx", filters, personnel))
            old = cells(old_file(projector, "xlsx", filters, personnel))
            assert first_difference(new, old) is None, (filters, personnel)
            assert new == old

    # What the comparison covered, read from the new file: dates as dates, money as numbers
    # in đồng, the header bold and frozen, the filter over every row, text never a formula.
    seen = cells(new_file(projector, "xlsx", {}, True))
    trail = seen[evidence.SHEET]
    header, *rows = trail["rows"]
    assert [value for value, _, _ in header] == list(evidence.HEADERS)
    assert trail["bold header"] == [True] * len(evidence.HEADERS)
    assert (trail["frozen"], trail["print titles"]) == ("A2", "$1:$1")
    assert trail["filter"] == f"A1:O{len(rows) + 1}"
    assert trail["widths"]["N"] == 100  # Diễn giải
    money_at, refs_at = evidence.HEADERS.index("Số tiền"), evidence.HEADERS.index("Tham chiếu")
    dated = rows[0]
    assert isinstance(dated[1][0], dt.datetime) and dated[1][1] == evidence.TIME_FORMAT
    assert isinstance(dated[2][0], dt.datetime) and dated[2][1] == evidence.DATE_FORMAT
    money = [row[money_at] for row in rows if len(row) > money_at and row[money_at][0] is not None]
    assert money and all(isinstance(v, int) and f == evidence.MONEY_FORMAT for v, f, _ in money)
    references = [row[refs_at] for row in rows if len(row) > refs_at]
    assert [kind for value, _, kind in references if value == "số quyết định: =1+2"] == ["s"]
    assert [value for value, _, _ in references].count("số quyết định: chuông\ufffd") == 1


def test_the_event_log_file_has_the_lines_it_had(ledger: Ledger, projector: Projector) -> None:
    # Step 1: a checkpoint of part of the log, then the whole log exported.
    key = Ed25519PrivateKey.generate()
    held = checkpoints.make(projector, key)
    load_more = ledger.position()
    assert held.tree_size == load_more
    out = io.BytesIO()
    result = event_log.export(ledger.engine, ledger.events_table, out, ledger.position(), held)

    # Step 2: after the header, every line is what the export wrote before; the root is the
    # checkpoint's.
    header, lines = out.getvalue().split(b"\n", 1)
    assert json.loads(header)["checkpoint"] == held.to_json()
    assert lines == before.events_lines(ledger.engine, ledger.events_table, ledger.position())
    assert result.checked == ledger.position() and result.root_hash == held.root_hash


def test_an_xlsx_of_more_rows_than_a_sheet_holds_is_refused_before_anything_is_written(
    projector: Projector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evidence, "XLSX_MAX_ROWS", 10)
    out = io.BytesIO()
    with pytest.raises(evidence.TooManyRows, match="more than one XLSX sheet holds"):
        evidence.export(projector, out, "xlsx")
    assert out.getvalue() == b""
    evidence.export(projector, out, "xlsx", evidence.AuditFilters(event_type="User.Revoked"))
    evidence.export(projector, io.BytesIO(), "csv")  # a CSV has no such limit
