"""Evidence exports: the audit trail as XLSX and as CSV, naming the checkpoint it agrees with.

An export holds every row of the audit trail that ``GET /api/reports/audit-trail`` would
answer for the same filters (:class:`AuditFilters`: record, actor, department, event type,
effective dates from/to, order), all pages of it, read in one consistent snapshot and
streamed out (the rows are never all in memory; XLSX is written with XlsxWriter in its
constant-memory mode, which keeps its text inline, not in a shared-strings table, and each
row in a temporary file as it is written).

The rows are read with every column as text (:func:`_rows_query`) and each writer formats
them in one loop, the JSON of each distinct ``amounts`` and ``references`` decoded and
formatted once (:class:`Sums`): for the same rows the CSV is byte for byte what the ``csv``
module wrote before, and the XLSX holds the cells, formats and layout openpyxl wrote before
(``tests/integration/test_export_writers.py``); ``bench/exports.py`` measures them. An XLSX
of more rows than one sheet holds (:data:`XLSX_MAX_ROWS`) is refused before anything is
written (:class:`TooManyRows`): export CSV, or narrow the filters.

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

XLSX: sheet "Nhật ký kiểm toán" holds a header row and the rows (header frozen, printed on
every page, filter buttons on); "Số tiền" is a number with the format ``#,##0 "₫"`` (grouped
by the reader's locale: ``1.234.567 ₫`` in Vietnamese), dates and times are date cells
formatted ``dd/mm/yyyy`` and ``dd/mm/yyyy hh:mm:ss``; a carriage return in a text is written
as OOXML's escape ``_x000D_`` (Excel and LibreOffice show the character; openpyxl reads the
escape as it stands), a control character XLSX cannot hold as U+FFFD. Sheet "Thông tin xuất"
says what the export is: one row per fact, columns "Mục" (the Vietnamese label), "Khóa" (a
stable English key such as ``position`` or ``checkpoint.root_hash``) and "Giá trị".

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

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal
from uuid import UUID

import xlsxwriter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Select, String, Table, cast, func, select

from ledger.access import PERSONNEL_RECORDS
from ledger.catalogue import department_name
from ledger.checkpoint import Checkpoint
from ledger.commands import DepartmentCode, IsoDate
from ledger.errors import LedgerError
from ledger.messages import Message
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


#: a row as the writers take it, every column as text but the position:
#: (position, recorded at ``YYYY-MM-DD HH:MM:SS…`` UTC, effective date ``YYYY-MM-DD``, record
#: type, record id, event type, actor, actor's name or None, department, amounts as JSON,
#: references as JSON, summary, leaf hash or None)
TextRow = tuple[int, str, str, str, str, str, str, str | None, str, str, str, str, str | None]


def _iso(column: Any, postgres: bool, pattern: str) -> Any:
    """A date or time column as ISO 8601 text: as SQLite stores it (``YYYY-MM-DD
    HH:MM:SS.ffffff``), and on PostgreSQL through ``to_char`` (whatever the server's DateStyle)."""
    return func.to_char(column, pattern) if postgres else cast(column, String)


def _rows_query(trail: Table, leaves: Table | None, f: AuditFilters, postgres: bool) -> Select[Any]:
    """The trail's rows as :data:`TextRow`: the database hands every column over as text
    (dates, ids and JSON included), which the writers format with no type conversion of
    SQLAlchemy's or the driver's (measured: that conversion was half of the rows' cost)."""
    leaf: Any = trail.c.leaf_hash
    source: Any = trail
    if leaves is not None:
        leaf = func.coalesce(trail.c.leaf_hash, leaves.c.leaf_hash)
        source = trail.outerjoin(leaves, leaves.c.position == trail.c.position)
    by = trail.c.position.asc() if f.order == "asc" else trail.c.position.desc()
    query = select(
        trail.c.position,
        _iso(trail.c.recorded_at, postgres, "YYYY-MM-DD HH24:MI:SS"),
        _iso(trail.c.effective_date, postgres, "YYYY-MM-DD"),
        trail.c.record_type,
        cast(trail.c.record_id, String),
        trail.c.event_type,
        trail.c.actor,
        trail.c.actor_name,
        trail.c.department,
        cast(trail.c.amounts, String),
        cast(trail.c.references, String),
        trail.c.summary,
        leaf.label("leaf_hash"),
    ).select_from(source)
    return query.where(*_conditions(trail, f)).order_by(by)


def _as_read(rows: Iterable[Any], personnel: bool) -> Iterator[Any]:
    """:func:`projections.audit_trail.as_read` on :data:`TextRow`: unless ``personnel``, no
    actor's name, and a personnel record's row says only
    :data:`~projections.audit_trail.WITHHELD` and has no references."""
    if personnel:
        yield from rows
        return
    withheld = audit_trail.WITHHELD
    for row in rows:
        if row[3] in PERSONNEL_RECORDS:
            yield (*row[:7], None, row[8], row[9], "{}", withheld, row[12])
        else:
            yield (*row[:7], None, *row[8:])


def canonical_uuid(text: str) -> str:
    """A record id as the database gives it (32 hex digits on SQLite, hyphenated on
    PostgreSQL) in the canonical hyphenated form."""
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


class Sums:
    """The money columns of each distinct ``amounts`` JSON, made once: (the main sum or
    None, its text ``1.234.567 ₫`` or empty, the details). Bounded: forgets all past
    :data:`REMEMBERED` (a log of 100,000 events has about 22,000 distinct ones)."""

    REMEMBERED = 50_000

    def __init__(self) -> None:
        self.found: dict[str, tuple[int | None, str, str]] = {}

    def __call__(self, text: str) -> tuple[int | None, str, str]:
        found = self.found.get(text)
        if found is None:
            if len(self.found) >= self.REMEMBERED:
                self.found.clear()
            amounts = json.loads(text)
            main = main_amount(amounts)
            money = "" if main is None else vnd(main)
            found = self.found[text] = (main, money, amount_details(amounts))
        return found


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

Facts = Sequence[tuple[str, str, str | int]]
#: writes the facts and the rows to the file; returns how many rows it wrote
Writer = Callable[[IO[bytes], Facts, Iterable[TextRow]], int]
#: the rows one XLSX sheet holds below its header row (Excel's limit, 1,048,576 rows)
XLSX_MAX_ROWS = 1_048_575


class TooManyRows(LedgerError):
    """An XLSX export of more rows than a sheet holds: refused before anything is written."""

    code = "validation_error"
    title = Message("Too many rows for one XLSX sheet")


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
    writer: Writer | None = None,
) -> Exported:
    """Write the audit trail, filtered by ``filters``, to ``out`` as ``format``.

    Everything is read in one snapshot of the audit trail (``Projector.reading``): the
    position P, the rows, the Merkle leaves and the newest checkpoint of at most P events.
    ``progress(done, total)`` is called as rows are written. Personnel rows are withheld
    unless ``personnel`` (``audit_trail.as_read``; the HTTP API says whether, the command
    line exports all). ``writer``: another writer of the same file (the benchmark's, to
    compare libraries); by default the format's (:data:`WRITERS`)."""
    if format not in FORMATS:
        raise ValueError(f"the format is one of {', '.join(FORMATS)}, not {format!r}")
    f = filters if filters is not None else AuditFilters()
    exported_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    with projector.reading(NAME) as (connection, tables, position):
        trail = tables["audit_trail"]
        count = connection.execute(
            select(func.count()).select_from(trail).where(*_conditions(trail, f))
        ).scalar_one()
        if format == "xlsx" and count > XLSX_MAX_ROWS:
            raise TooManyRows(
                Message(
                    "the audit trail holds {count:,} rows for these filters, more than one "
                    "XLSX sheet holds ({limit:,}): narrow it (by effective dates, say) or "
                    "export CSV",
                    count=count,
                    limit=XLSX_MAX_ROWS,
                )
            )
        checkpoint = checkpoints.latest(connection, position)
        facts = about(f, position, int(count), checkpoint, exported_at, min_position)
        postgres = connection.dialect.name == "postgresql"
        query = _rows_query(trail, _leaves(projector, connection), f, postgres)
        found = connection.execute(query.execution_options(yield_per=BATCH))
        rows = _counted(_as_read(found, personnel), int(count), progress)
        written = (writer or WRITERS[format])(out, facts, rows)
    return Exported(format, position, written, checkpoint, exported_at, facts)


def _counted(
    rows: Iterator[Any], total: int, progress: Callable[[int, int], None] | None
) -> Iterator[Any]:
    if progress is None:
        yield from rows
        return
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % BATCH == 0:
            progress(done, total)
    progress(done, total)


def day_text(iso: str) -> str:
    """``YYYY-MM-DD…`` as ``dd/mm/yyyy`` (:func:`projections.audit_trail.day`)."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def csv_field(text: str) -> str:
    """A field as the ``csv`` module writes it with its defaults (RFC 4180): in double
    quotes, quotes doubled, when it holds a comma, a quote or a line break; else as it is."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def write_csv(out: IO[bytes], facts: Facts, rows: Iterable[TextRow]) -> int:
    """The CSV (see the module's docstring): each line made as one f-string, the repeated
    texts (record and event types, actors, departments, sums, references) quoted once, the
    lines encoded and written every :data:`BATCH` rows. Byte for byte what the ``csv``
    module wrote before (``tests/support/exports_before.py``), at several times its speed."""
    head = ["\ufeff", *(f"# {label} ({key}): {value}\r\n" for label, key, value in facts)]
    head.append(",".join(csv_field(header) for header in HEADERS) + "\r\n")
    out.write("".join(head).encode("utf-8"))
    sums = Sums()
    money: dict[str, tuple[str, str]] = {}  # amounts JSON -> (main sum, details) as fields
    refs: dict[str, str] = {"{}": ""}
    texts: dict[str, str] = {}
    units: dict[str, str] = {}  # department -> its code and name as two fields
    lines: list[str] = []
    written = 0
    for (
        position,
        recorded,
        effective,
        kind,
        record,
        event,
        actor,
        actor_name,
        department,
        amounts,
        references,
        summary,
        leaf,
    ) in rows:
        sum_fields = money.get(amounts)
        if sum_fields is None:
            if len(money) >= Sums.REMEMBERED:
                money.clear()
            _, main, details = sums(amounts)
            sum_fields = money[amounts] = (main, csv_field(details))
        ref_field = refs.get(references)
        if ref_field is None:
            if len(refs) >= Sums.REMEMBERED:
                refs.clear()
            ref_field = refs[references] = csv_field(references_text(json.loads(references)))
        kind_field = texts.get(kind) or texts.setdefault(kind, csv_field(kind))
        event_field = texts.get(event) or texts.setdefault(event, csv_field(event))
        actor_field = texts.get(actor) or texts.setdefault(actor, csv_field(actor))
        name_field = (
            (texts.get(actor_name) or texts.setdefault(actor_name, csv_field(actor_name)))
            if actor_name
            else ""
        )
        unit_field = units.get(department)
        if unit_field is None:
            unit_field = units[department] = (
                f"{csv_field(department)},{csv_field(department_name(department) or '')}"
            )
        if len(record) == 32:
            record = f"{record[:8]}-{record[8:12]}-{record[12:16]}-{record[16:20]}-{record[20:]}"
        lines.append(
            f"{position},{recorded[8:10]}/{recorded[5:7]}/{recorded[:4]} {recorded[11:19]},"
            f"{effective[8:10]}/{effective[5:7]}/{effective[:4]},{kind_field},{record},"
            f"{event_field},{actor_field},{name_field},{unit_field},{sum_fields[0]},"
            f"{sum_fields[1]},{ref_field},"
            f"{csv_field(summary)},{leaf or ''}\r\n"
        )
        written += 1
        if len(lines) == BATCH:
            out.write("".join(lines).encode("utf-8"))
            lines.clear()
        if len(texts) >= Sums.REMEMBERED:
            texts.clear()
    out.write("".join(lines).encode("utf-8"))
    return written


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what XLSX text cannot hold


def xlsx_text(text: str) -> str:
    """Text as an XLSX cell holds it: characters XLSX cannot hold become U+FFFD."""
    return _ILLEGAL.sub("\ufffd", text) if _ILLEGAL.search(text) else text


#: day 0 of XLSX dates (the 1900 date system, as Excel counts from 1900-03-01 on)
_EPOCH = dt.date(1899, 12, 30).toordinal()
_SERIALS: dict[str, int] = {}


def xlsx_serial(iso: str) -> float | int:
    """``YYYY-MM-DD[ HH:MM:SS…]`` as an XLSX date: days since 30/12/1899 and the fraction of
    the day (seconds; the fraction of a second dropped), computed as openpyxl does."""
    days = _SERIALS.get(iso[:10])
    if days is None:
        days = _SERIALS[iso[:10]] = dt.date.fromisoformat(iso[:10]).toordinal() - _EPOCH
    if len(iso) < 19:
        return days
    seconds = int(iso[11:13]) * 3600 + int(iso[14:16]) * 60 + int(iso[17:19])
    return days + seconds / 86400


def write_xlsx(out: IO[bytes], facts: Facts, rows: Iterable[TextRow]) -> int:
    """The XLSX (see the module's docstring), with XlsxWriter in its constant-memory mode:
    each row goes to a temporary file as it is written, texts inline (no shared-strings
    table), so memory stays flat whatever the rows. Chosen over openpyxl's write-only mode,
    which wrote the same workbook 1.5–2 times slower (``bench/exports.py``, README
    "Benchmarks"). Dates and times are written as the numbers openpyxl wrote for them,
    column widths as openpyxl stored them."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    try:
        return _fill(book, facts, rows)
    finally:
        book.close()


def _fill(book: xlsxwriter.Workbook, facts: Facts, rows: Iterable[TextRow]) -> int:
    book.set_properties({"title": TITLE, "author": "NSCL ledger"})
    sheet = book.add_worksheet(SHEET)
    info = book.add_worksheet(ABOUT_SHEET)
    bold = book.add_format({"bold": True})
    time_style = book.add_format({"num_format": TIME_FORMAT})
    date_style = book.add_format({"num_format": DATE_FORMAT})
    money_style = book.add_format({"num_format": MONEY_FORMAT})

    # widths as openpyxl stored them (characters, Excel's padding included): 7 pixels each
    for col, width in enumerate((44, 24, 110)):
        info.set_column_pixels(col, col, width * 7)
    for col, name in enumerate(("Mục", "Khóa", "Giá trị")):
        info.write_string(0, col, name, bold)
    for row, (label, key, value) in enumerate(facts, start=1):
        info.write_string(row, 0, label)
        info.write_string(row, 1, key)
        if isinstance(value, str):
            info.write_string(row, 2, xlsx_text(value))
        else:
            info.write_number(row, 2, value)

    for col, (name, width) in enumerate(COLUMNS):
        sheet.set_column_pixels(col, col, width * 7)
        sheet.write_string(0, col, name, bold)
    sheet.freeze_panes(1, 0)
    sheet.repeat_rows(0)
    number, text = sheet.write_number, sheet.write_string
    sums = Sums()
    texts: dict[str, str] = {}
    units: dict[str, str] = {}
    refs: dict[str, str] = {"{}": ""}
    written = 0
    for (
        position,
        recorded,
        effective,
        kind,
        record,
        event,
        actor,
        actor_name,
        department,
        amounts,
        references,
        summary,
        leaf,
    ) in rows:
        written += 1
        r = written
        number(r, 0, position)
        number(r, 1, xlsx_serial(recorded), time_style)
        number(r, 2, xlsx_serial(effective), date_style)
        named: tuple[tuple[int, str | None], ...] = (
            (3, kind),
            (5, event),
            (6, actor),
            (7, actor_name),
            (8, department),
        )
        for col, given in named:
            if given:
                cell = texts.get(given)
                if cell is None:
                    cell = texts[given] = xlsx_text(given)
                text(r, col, cell)
        text(r, 4, canonical_uuid(record))
        unit = units.get(department)
        if unit is None:
            unit = units[department] = xlsx_text(department_name(department) or "")
        text(r, 9, unit)
        main, _, details = sums(amounts)
        if main is not None:
            number(r, MONEY_COLUMN, main, money_style)
        text(r, 11, xlsx_text(details))
        ref_cell = refs.get(references)
        if ref_cell is None:
            if len(refs) >= Sums.REMEMBERED:
                refs.clear()
            ref_cell = refs[references] = xlsx_text(references_text(json.loads(references)))
        text(r, 12, ref_cell)
        text(r, 13, xlsx_text(summary))
        if leaf:
            text(r, 14, leaf)
        if len(texts) >= Sums.REMEMBERED:
            texts.clear()
    sheet.autofilter(0, 0, written, len(COLUMNS) - 1)
    return written


WRITERS: dict[str, Writer] = {"xlsx": write_xlsx, "csv": write_csv}
