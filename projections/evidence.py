"""Evidence exports: the audit trail as XLSX and as CSV, naming the checkpoint it agrees with.

An export holds every row of the audit trail that ``GET /api/reports/audit-trail`` would
answer for the same filters (:class:`AuditFilters`: record, actor, department, event type,
effective dates from/to, order), all pages of it, read in one consistent snapshot and
streamed out (the rows are never all in memory; XLSX is written with openpyxl's write-only
workbook, which keeps its text inline, not in a shared-strings table).

What an export says about itself (:func:`about`) is read in the same snapshot: the position
P the audit trail reflects (its first P events), how many rows the filters kept, the filters,
the export time, and the newest signed checkpoint of at most P events, the one an inspector
checks the rows against (or "chưa có điểm kiểm tra (no checkpoint yet)"). A checkpoint of more
than P events is never named: rows beyond P are not in the export.

Columns (Vietnamese, one row per event):

=======================  ==================================================================
Vị trí                   global position of the event (1, 2, …)
Thời điểm ghi (UTC)      when the store recorded it, ``dd/mm/yyyy HH:MM:SS`` in UTC
Ngày hiệu lực            the business date on the decision or voucher, ``dd/mm/yyyy``
Loại bản ghi             the record's type (``SupportApplication``, ``BudgetLine``, …)
Mã bản ghi               the record's id (UUID)
Loại sự kiện             the event type (``SupportApplication.Approved``, …), as the filter takes it
Người thực hiện          the actor's user id
Họ tên người thực hiện   the actor's name when the event was recorded (a later rename does not
                         change it); empty for a reader who may not read personnel data, or
                         an actor who was no user then
Đơn vị                   the actor's department code, as the event carries it (the actor's
                         department when it was recorded)
Tên đơn vị               that department's Vietnamese name (empty if the catalogue lacks it)
Số tiền                  the event's main sum in đồng: the first of ``amount``, ``budget``,
                         ``released``, ``total_cost``, ``approved``, ``recommended``,
                         ``requested`` it carries, a split by funding source summed up;
                         empty for an event without money
Chi tiết số tiền         every named sum of the event, ``tên: 1.234.567 ₫; …``; a split by
                         funding source is written ``ngân sách thành phố 45.000.000 ₫, vốn
                         doanh nghiệp 55.000.000 ₫`` (zero shares left out, as the summaries
                         do)
Tham chiếu               the references, ``số quyết định: 45/QĐ-SKHCN; …``
Diễn giải                the one-sentence Vietnamese summary of the audit trail
Mã băm lá                lowercase hex of the event's RFC 9162 leaf hash (the Merkle tree's
                         leaf; empty where the tree has not folded the event yet)
=======================  ==================================================================

XLSX: sheet "Nhật ký kiểm toán" holds a header row and the rows (header frozen, filter
buttons on); "Số tiền" is a number with the format ``#,##0 "₫"`` (grouped by the reader's
locale: ``1.234.567 ₫`` in Vietnamese), dates and times are date cells formatted
``dd/mm/yyyy`` and ``dd/mm/yyyy hh:mm:ss``. Sheet "Thông tin xuất" says what the export is:
one row per fact, columns "Mục" (the Vietnamese label), "Khóa" (a stable English key such as
``position`` or ``checkpoint.root_hash``) and "Giá trị".

CSV: UTF-8 with a byte-order mark (so that Excel shows Vietnamese), RFC 4180 quoting, CRLF.
It opens with a block of lines beginning with ``#``, one per fact, ``# <Mục> (<Khóa>): <Giá
trị>``; the first line that does not begin with ``#`` is the header row, and every line
after it is data (the CSVW / Frictionless convention of a comment prefix ``#``; no data line
can begin with ``#``: a record begins with its position). Money is text ``1.234.567 ₫``, dates
``dd/mm/yyyy``, times ``dd/mm/yyyy HH:MM:SS`` (UTC). The facts are free text: skip them as
lines, not as CSV records. To read an export::

    with open(path, encoding="utf-8-sig", newline="") as file:
        facts, line = [], file.readline()
        while line.startswith("#"):
            facts.append(line.rstrip("\\r\\n"))
            line = file.readline()
        header, *rows = csv.reader(itertools.chain([line], file))
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal
from uuid import UUID

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Select, Table, func, select

from ledger.catalogue import department_name
from ledger.checkpoint import Checkpoint
from ledger.commands import DepartmentCode, IsoDate
from projections import audit_trail, checkpoints, merkle
from projections.audit_trail import day, funding, vnd
from projections.projector import Projector
from projections.state import projection_state

NAME = "audit_trail"
Format = Literal["xlsx", "csv"]
FORMATS: tuple[Format, ...] = ("xlsx", "csv")
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
SHEET = "Nhật ký kiểm toán"
ABOUT_SHEET = "Thông tin xuất"
TITLE = "Nhật ký kiểm toán – sổ cái Chương trình NSCL-HN (NSCL ledger audit trail)"
NO_CHECKPOINT = "chưa có điểm kiểm tra (no checkpoint yet)"
NO_FILTER = "không lọc"
MONEY_FORMAT = '#,##0 "₫"'
DATE_FORMAT = "dd/mm/yyyy"
TIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
BATCH = 2000

#: (header, width in the XLSX sheet)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Vị trí", 9),
    ("Thời điểm ghi (UTC)", 20),
    ("Ngày hiệu lực", 13),
    ("Loại bản ghi", 18),
    ("Mã bản ghi", 38),
    ("Loại sự kiện", 36),
    ("Người thực hiện", 38),
    ("Họ tên người thực hiện", 28),
    ("Đơn vị", 12),
    ("Tên đơn vị", 40),
    ("Số tiền", 20),
    ("Chi tiết số tiền", 60),
    ("Tham chiếu", 32),
    ("Diễn giải", 100),
    ("Mã băm lá", 66),
)
HEADERS = tuple(header for header, _ in COLUMNS)
MONEY_COLUMN = HEADERS.index("Số tiền")

#: the named sums of the trail's ``amounts``, in Vietnamese
AMOUNT_NAMES = {
    "amount": "số tiền",
    "total_cost": "tổng kinh phí",
    "requested": "đề nghị hỗ trợ",
    "recommended": "đề xuất hỗ trợ",
    "approved": "phê duyệt",
    "budget": "kinh phí",
    "released": "giải phóng",
}
#: which named sum is the event's main one ("Số tiền"), first found first
MAIN_AMOUNT = (
    "amount",
    "budget",
    "released",
    "total_cost",
    "approved",
    "recommended",
    "requested",
    "total",  # an estimate's draft, appraisal or approval: the sum of its lines
    "max_amount",  # a support rule: its cap
    "carried_out",  # a year close: what it carried over (what it cancelled is in the details)
    "counterpart_spent",  # an acceptance: what the enterprise and other sources spent
)
REFERENCE_NAMES = {
    "decision_no": "số quyết định",
    "voucher_no": "số chứng từ",
    "contract_no": "số hợp đồng",
    "dossier_no": "số hồ sơ",
}
ORDER_VI = {"asc": "tăng dần theo vị trí (asc)", "desc": "giảm dần theo vị trí (desc)"}


class AuditFilters(BaseModel):
    """The filters of the audit-trail report (``api.reports.AuditQuery`` less its paging):
    each optional; ``from``/``to`` bound the effective date, both included."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    record_id: UUID | None = None
    actor: str | None = Field(default=None, max_length=64)
    department: DepartmentCode | None = None
    event_type: str | None = Field(default=None, max_length=64)
    from_: IsoDate | None = Field(default=None, alias="from")
    to: IsoDate | None = None
    order: Literal["asc", "desc"] = "asc"


@dataclass(frozen=True, slots=True)
class Exported:
    """What was written: the trail's position, the rows, the checkpoint named."""

    format: Format
    position: int
    rows: int
    checkpoint: Checkpoint | None
    exported_at: dt.datetime
    facts: tuple[tuple[str, str, str | int], ...]

    @property
    def filename(self) -> str:
        return f"nhat-ky-kiem-toan-{self.position}.{self.format}"


# -- formatting ------------------------------------------------------------------------------


def moment(value: dt.datetime) -> str:
    """A UTC time as exports write it: ``dd/mm/yyyy HH:MM:SS``."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return f"{day(value.date())} {value:%H:%M:%S}"


def _total(value: Any) -> int:
    return sum(int(v) for v in value.values()) if isinstance(value, dict) else int(value)


def main_amount(amounts: Mapping[str, Any]) -> int | None:
    """The event's main sum in đồng (``None``: the event moves no money)."""
    for kind in MAIN_AMOUNT:
        if kind in amounts:
            return _total(amounts[kind])
    for value in amounts.values():  # a kind this module does not know yet
        return _total(value)
    return None


def amount_details(amounts: Mapping[str, Any]) -> str:
    """``tổng kinh phí: 100.000.000 ₫; đề nghị hỗ trợ: ngân sách thành phố 45.000.000 ₫, …``"""
    return "; ".join(
        f"{AMOUNT_NAMES.get(kind, kind)}: "
        f"{funding(value) if isinstance(value, dict) else vnd(int(value))}"
        for kind, value in amounts.items()
    )


def references_text(references: Mapping[str, Any]) -> str:
    """``số quyết định: 45/QĐ-SKHCN; số chứng từ: PC-1``"""
    return "; ".join(f"{REFERENCE_NAMES.get(k, k)}: {v}" for k, v in references.items())


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """User text on one line of the facts: control characters and line breaks as ``\\uXXXX``."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# -- reading ---------------------------------------------------------------------------------


def _conditions(trail: Table, f: AuditFilters) -> list[Any]:
    """The filters exactly as ``projections.audit_trail.report`` applies them."""
    return audit_trail.conditions(
        trail, f.record_id, f.actor, f.department, f.event_type, f.from_, f.to
    )


def _leaves(projector: Projector, connection: Connection) -> Table | None:
    """The Merkle tree's leaf table readers use now (``None`` without a Merkle projection)."""
    cls = projector.classes.get(merkle.NAME)
    if cls is None:
        return None
    active = connection.execute(
        select(projection_state.c.active_set).where(projection_state.c.name == merkle.NAME)
    ).scalar_one_or_none()
    if active is None:
        return None
    return projector.tables(cls, active)[merkle.LEAVES.name]


def leaves_in(leaves: Table, connection: Connection, positions: list[int]) -> dict[int, str]:
    """The leaf hash (hex) of each of ``positions`` in the Merkle tree's leaf table
    ``leaves``, read on ``connection``."""
    found = connection.execute(
        select(leaves.c.position, leaves.c.leaf_hash).where(leaves.c.position.in_(positions))
    )
    return {int(p): str(h) for p, h in found}


def leaves_of(projector: Projector, positions: list[int]) -> dict[int, str]:
    """The leaf hash (hex) of each of ``positions`` the Merkle tree holds."""
    if not positions:
        return {}
    with projector.engine.connect() as connection:
        leaves = _leaves(projector, connection)
        return leaves_in(leaves, connection, positions) if leaves is not None else {}


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
    return query.where(*_conditions(trail, f)).order_by(by)


def about(
    f: AuditFilters,
    position: int,
    rows: int,
    checkpoint: Checkpoint | None,
    exported_at: dt.datetime,
    min_position: int | None = None,
) -> tuple[tuple[str, str, str | int], ...]:
    """The facts an export states about itself: (Vietnamese label, key, value)."""
    facts: list[tuple[str, str, str | int]] = [
        ("Tài liệu", "document", TITLE),
        ("Thời điểm xuất", "exported_at", f"{moment(exported_at)} UTC"),
        ("Vị trí của nhật ký (sự kiện 1 đến vị trí này)", "position", position),
    ]
    if min_position is not None:
        reached = "đã đạt" if position >= min_position else "chưa đạt (stale)"
        facts.append(("Vị trí tối thiểu yêu cầu", "min_position", f"{min_position} – {reached}"))
    facts.append(("Số dòng", "rows", rows))
    given: list[tuple[str, str, str | None]] = [
        ("Lọc theo mã bản ghi", "record_id", str(f.record_id) if f.record_id else None),
        ("Lọc theo người thực hiện", "actor", f.actor),
        ("Lọc theo đơn vị", "department", f.department),
        ("Lọc theo loại sự kiện", "event_type", f.event_type),
        ("Từ ngày hiệu lực", "from", day(f.from_) if f.from_ else None),
        ("Đến ngày hiệu lực", "to", day(f.to) if f.to else None),
    ]
    facts += [(label, key, NO_FILTER if v is None else one_line(v)) for label, key, v in given]
    facts.append(("Thứ tự", "order", ORDER_VI[f.order]))
    if checkpoint is None:
        facts.append(("Điểm kiểm tra", "checkpoint", NO_CHECKPOINT))
        return tuple(facts)
    created = dt.datetime.fromisoformat(checkpoint.created_at.replace("Z", "+00:00"))
    facts += [
        (
            "Điểm kiểm tra",
            "checkpoint",
            f"điểm kiểm tra đã ký mới nhất có không quá {position} sự kiện",
        ),
        ("Kích thước cây (số sự kiện)", "checkpoint.tree_size", checkpoint.tree_size),
        ("Mã băm gốc", "checkpoint.root_hash", checkpoint.root_hash),
        ("Mã khóa ký", "checkpoint.key_id", checkpoint.key_id),
        ("Thời điểm ký", "checkpoint.created_at", f"{moment(created)} UTC"),
        ("Nguồn gốc (origin)", "checkpoint.origin", one_line(checkpoint.origin)),
        ("Chữ ký Ed25519 (base64)", "checkpoint.signature", checkpoint.signature),
        (
            "Ghi chú",
            "note",
            f"Các dòng có vị trí từ 1 đến {checkpoint.tree_size} thuộc cây Merkle mà điểm kiểm "
            "tra này ký: mã băm lá của mỗi dòng kiểm chứng được bằng bằng chứng bao hàm "
            "(inclusion proof). Thân được ký là nguồn gốc, kích thước cây và mã băm gốc (base64),"
            " mỗi thứ một dòng (C2SP tlog-checkpoint)."
            + (
                f" Các dòng có vị trí lớn hơn {checkpoint.tree_size} chưa có điểm kiểm tra."
                if checkpoint.tree_size < position
                else ""
            ),
        ),
    ]
    return tuple(facts)


# -- writing ---------------------------------------------------------------------------------


def export(
    projector: Projector,
    out: IO[bytes],
    format: Format,
    filters: AuditFilters | None = None,
    *,
    min_position: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
    personnel: bool = True,
) -> Exported:
    """Write the audit trail, filtered by ``filters``, to ``out`` as ``format``.

    Everything is read in one snapshot of the audit trail (``Projector.reading``): the
    position P, the rows, the Merkle leaves and the newest checkpoint of at most P events.
    ``progress(done, total)`` is called as rows are written. Personnel rows are withheld
    unless ``personnel`` (``audit_trail.as_read``; the HTTP API says whether, the command
    line exports all)."""
    if format not in FORMATS:
        raise ValueError(f"the format is one of {', '.join(FORMATS)}, not {format!r}")
    f = filters if filters is not None else AuditFilters()
    exported_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with projector.reading(NAME) as (connection, tables, position):
        trail = tables["audit_trail"]
        count = connection.execute(
            select(func.count()).select_from(trail).where(*_conditions(trail, f))
        ).scalar_one()
        checkpoint = checkpoints.latest(connection, position)
        facts = about(f, position, int(count), checkpoint, exported_at, min_position)
        query = _rows_query(trail, _leaves(projector, connection), f)
        found = connection.execute(query.execution_options(yield_per=BATCH)).mappings()
        rows = audit_trail.as_read(found, personnel)
        write = _write_xlsx if format == "xlsx" else _write_csv
        written = write(out, facts, _counted(rows, int(count), progress))
    return Exported(format, position, written, checkpoint, exported_at, facts)


def _counted(
    rows: Iterator[Any], total: int, progress: Callable[[int, int], None] | None
) -> Iterator[Any]:
    done = 0
    for row in rows:
        yield row
        done += 1
        if progress is not None and done % BATCH == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)


#: how many text columns stand between the dates and the money (:func:`_texts`)
BEFORE_MONEY = MONEY_COLUMN - 3


def _texts(row: Any) -> tuple[str, ...]:
    """The text columns after the dates and before the money: record type, id, event type,
    actor, actor's name, department, department's name; and after the money: details,
    references, summary, leaf hash."""
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


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XLSX text cannot hold


def _text_cell(sheet: Any, text: str) -> Any:
    """Text as an XLSX cell: always text (never a formula, even if it begins with ``=``);
    characters XLSX cannot hold become U+FFFD."""
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
    sheet = book.create_sheet(SHEET)
    info = book.create_sheet(ABOUT_SHEET)
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
