"""audit_trail: one row per event, in the order of the log, with a one-line Vietnamese summary.

Each row says when the event was recorded and the business date it carries, which record it
changed, what kind of event it is, who recorded it for which department, its money fields
(``amounts``), its references and one sentence in Vietnamese saying what happened, with
money written ``1.234.567 ₫`` and dates ``dd/mm/yyyy``, and the RFC 9162 leaf hash of the
stored event (``leaf_hash``, the leaf the Merkle tree holds for it: an exported row can be
proved against a checkpoint). Rows are only ever appended.

To name records in its sentences the audit trail keeps a label per record of its own
(``audit_trail_labels``: "hồ sơ HS-2015-001", "doanh nghiệp Công ty …", "hoạt động «…»", a
user's name); budget lines are named from their id.

Each row names its actor by user id (``actor``), department code (``department``, as the event
carries it: the actor's department when it was recorded) and name (``actor_name``): the name
in force when the event was recorded, from the users register the trail folds as it goes
(``audit_trail_people``, each user's name and department as the ``User`` events before the
row left them; ``ledger/people.py``), so a user renamed or moved later does not rewrite the
rows before. A name is personnel data: :func:`as_read` leaves it out for a reader who may not
read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    String,
    Table,
    Text,
    Uuid,
    select,
)

from ledger import catalogue, merkle
from ledger.access import PERSONNEL_RECORDS, ROLE_NAMES_VI, SYSTEM
from ledger.annual_estimate import AnnualEstimate
from ledger.budget_line import BUDGET_LINES, BudgetLine, format_vnd
from ledger.budget_year import BudgetYear
from ledger.catalogue import department_name
from ledger.enterprise import Enterprise
from ledger.natural_key import NaturalKey
from ledger.people import Person, person_after
from ledger.program_activity import ProgramActivity
from ledger.support_application import SupportApplication
from ledger.support_rule import SupportRules
from ledger.user import Administrators, User
from projections.base import BIGINT, Envelope, Projection, TableDef, as_uuid
from projections.merkle import stored_bytes

NAME = "audit_trail"

TRAIL = TableDef(
    "audit_trail",
    ("position",),
    lambda name, md: Table(
        name,
        md,
        Column("position", BIGINT, primary_key=True, autoincrement=False),
        Column("recorded_at", DateTime, nullable=False),  # UTC, stored without its zone
        Column("effective_date", Date, nullable=False),
        Column("record_type", String(32), nullable=False),
        Column("record_id", Uuid, nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("actor", String(64), nullable=False),
        Column("actor_name", Text, nullable=True),  # null: the actor was no user then
        Column("department", String(32), nullable=False),
        Column("amounts", JSON, nullable=False),
        Column("references", JSON, nullable=False),
        Column("summary", Text, nullable=False),
        Column("leaf_hash", String(64), nullable=True),
        Index(f"ix_{name}_record", "record_id"),
    ),
    appended=True,
)

LABELS = TableDef(
    "audit_trail_labels",
    ("record_id",),
    lambda name, md: Table(
        name, md, Column("record_id", Uuid, primary_key=True), Column("label", Text, nullable=False)
    ),
)

#: the users register: each user's name and department as the User events folded so far left
#: them (``ledger/people.py``), keyed by the user id as events name their actor
PEOPLE = TableDef(
    "audit_trail_people",
    ("user_id",),
    lambda name, md: Table(
        name,
        md,
        Column("user_id", String(64), primary_key=True),
        Column("name", Text, nullable=False),
        Column("department", String(32), nullable=False),
    ),
)

SOURCE_VI = {
    "city_budget": "ngân sách thành phố",
    "enterprise": "vốn doanh nghiệp",
    "other": "nguồn vốn khác",
}
KEY_KIND_VI = {
    "tax-code": "mã số thuế",
    "dossier": "số hồ sơ",
    "contract": "số hợp đồng",
    "voucher": "số chứng từ",
}
DISBURSEMENT_VI = {"advance": "Tạm ứng", "payment": "Thanh toán"}


def channel_vi(channel: str) -> str:
    """`` (Quỹ phát triển khoa học và công nghệ)``: a channel other than the default, as a
    sentence names it after the line or approval; nothing for the default channel."""
    if channel == catalogue.DEFAULT_CHANNEL:
        return ""
    found = catalogue.CHANNELS.get(channel)
    return f" ({found.name_vi if found is not None else channel})"


#: budget line id -> how a sentence names it (a line of an old log's enterprise or other
#: source keeps its name: the trail shows every event, budget line or not)
LINE_LABELS: dict[UUID, str] = {
    line_id: f"dự toán {SOURCE_VI[source]} của {project} năm {year}{channel_vi(channel)}"
    for line_id, (year, project, source, channel) in BUDGET_LINES.items()
}


def _target(code: str) -> str:
    target = catalogue.TARGETS.get(code)
    return target.name_vi if target is not None else code


#: money as the summaries write it: ``1.234.567 ₫``
vnd = format_vnd


_DAYS: dict[dt.date, str] = {}


def day(date: dt.date) -> str:
    """A date as the summaries write it: ``dd/mm/yyyy``."""
    text = _DAYS.get(date)
    if text is None:
        text = _DAYS[date] = f"{date.day:02d}/{date.month:02d}/{date.year}"
    return text


def funding(shares: dict[str, int]) -> str:
    """``ngân sách thành phố 45.000.000 ₫, vốn doanh nghiệp 30.000.000 ₫`` (zero shares left
    out)."""
    parts = [f"{SOURCE_VI.get(s, s)} {vnd(a)}" for s, a in shares.items() if a]
    return ", ".join(parts) if parts else vnd(0)


def clause(text: str | None) -> str:
    """Free text of a user folded into one clause of a sentence (no line breaks, no end)."""
    return " ".join((text or "").split()).replace(". ", "; ").rstrip(" .;")


def decision(event: Any) -> str:
    number = event.references.get("decision_no")
    return f" (QĐ {number})" if number else ""


def support_vi(code: str) -> str:
    support = catalogue.SUPPORT_TYPES.get(code)
    return support.name_vi if support is not None else code


def voucher(event: Any) -> str:
    number = event.references.get("voucher_no")
    return f" (chứng từ {number})" if number else ""


def because(text: str | None) -> str:
    reason = clause(text)
    return f", lý do: {reason}" if reason else ""


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """A recorded time as the trail stores it: in UTC, without its zone, so that both
    databases (and a replay's) hold and hand back the same value."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


#: event class -> (record type, event type)
_TYPES: dict[type, tuple[str, str]] = {}


def _types(cls: type) -> tuple[str, str]:
    found = _TYPES.get(cls)
    if found is None:
        qualname = cls.__qualname__
        found = _TYPES[cls] = (qualname.split(".", 1)[0], qualname)
    return found


NO_AMOUNTS: dict[str, Any] = {}


class AuditTrail(Projection):
    NAME = NAME
    TABLES = (TRAIL, LABELS, PEOPLE)
    #: the events that name a record (``audit_trail_labels``) or change the users register
    #: (``audit_trail_people``); every other event only appends its row, which reads them
    CONTEXT = (
        Enterprise.Registered,
        Enterprise.Corrected,
        BudgetYear.Closed,
        SupportRules.Opened,
        AnnualEstimate.Opened,
        SupportApplication.Submitted,
        ProgramActivity.Approved,
        User.Granted,
        User.Changed,
    )

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        super().__init__(tables, rebuilding=rebuilding)
        self._hasher = merkle.LeafHasher()

    def fold(self, envelopes: Iterable[Envelope]) -> None:
        """Fold, then give each new row (one per event) its stored event's leaf hash. A
        recorded hole in the log is no event: no row."""
        batch = [e for e in envelopes if e.stored is not None]
        rows = self.rows("audit_trail").appended
        start = len(rows)
        super().fold(batch)
        hasher = self._hasher
        for row, envelope in zip(rows[start:], batch, strict=True):
            assert row["position"] == envelope.position and envelope.stored is not None
            originator_id, version, topic, state = envelope.stored
            row["leaf_hash"] = hasher(
                originator_id, version, envelope.position, stored_bytes(state), topic
            ).hex()

    @singledispatchmethod
    def process_event(self, event: Any, position: int) -> None:
        """An event without a sentence of its own is still one row."""
        event_type = _types(type(event))[1]
        self._row(
            event,
            position,
            NO_AMOUNTS,
            f"Ghi nhận sự kiện {event_type} của bản ghi {event.originator_id} "
            f"ngày {day(event.effective_date)}.",
        )

    # -- helpers -----------------------------------------------------------------------------

    def _row(self, event: Any, position: int, amounts: dict[str, Any], summary: str) -> None:
        record_type, event_type = _types(type(event))
        self.rows("audit_trail").append(
            {
                "position": position,
                "recorded_at": _naive_utc(event.timestamp),
                "effective_date": event.effective_date,
                "record_type": record_type,
                "record_id": event.originator_id,
                "event_type": event_type,
                "actor": event.actor,
                "actor_name": self._actor_name(event.actor),
                "department": event.department,
                "amounts": amounts,
                "references": event.references,
                "summary": summary,
                "leaf_hash": None,
            }
        )

    def _actor_name(self, actor: str) -> str | None:
        """The name of ``actor`` in force now, as the users register holds it."""
        if actor == SYSTEM.user_id:
            return SYSTEM.name
        row = self.rows("audit_trail_people").get((actor,))
        return row["name"] if row is not None else None

    def _person(self, event: User.Granted | User.Changed) -> Person:
        """Fold ``event`` into the users register: who its user is once it is recorded."""
        user_id = str(event.originator_id)
        row = self.rows("audit_trail_people").get_or_create(
            (user_id,), lambda: {"user_id": user_id, "name": "", "department": ""}
        )
        before = Person(row["name"], row["department"]) if row["name"] else None
        person = person_after(event, before)
        row["name"], row["department"] = person.name, person.department
        return person

    def _name(self, record_id: UUID, label: str) -> None:
        row = self.rows("audit_trail_labels").get_or_create(
            (record_id,), lambda: {"record_id": record_id, "label": label}
        )
        row["label"] = label

    def _label(self, record_id: UUID) -> str:
        line = LINE_LABELS.get(record_id)
        if line is not None:
            return line
        row = self.rows("audit_trail_labels").get((record_id,))
        return row["label"] if row is not None else f"bản ghi {record_id}"

    # -- enterprises -------------------------------------------------------------------------

    @process_event.register
    def _registered(self, event: Enterprise.Registered, position: int) -> None:
        label = f"doanh nghiệp {event.name}"
        self._name(event.originator_id, label)
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Đăng ký {label}, mã số thuế {event.tax_code}, địa bàn {event.district}, "
                f"ngành {catalogue.SECTORS.get(event.sector, event.sector)}, "
                f"quy mô {catalogue.SIZES.get(event.size, event.size)}, "
                f"ngày {day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _corrected(self, event: Enterprise.Corrected, position: int) -> None:
        label = self._label(event.originator_id)
        names = {"name": "tên", "district": "địa bàn", "sector": "ngành", "size": "quy mô"}
        changes = ", ".join(f"{names.get(k, k)} thành {v}" for k, v in event.changes.items())
        if "name" in event.changes:
            self._name(event.originator_id, f"doanh nghiệp {event.changes['name']}")
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Điều chỉnh thông tin {label} ngày {day(event.effective_date)}: {changes}"
                f"{because(event.reason)}."
            ),
        )

    # -- budget lines --------------------------------------------------------------------------

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Giao {LINE_LABELS.get(event.originator_id, 'dự toán')}: {vnd(event.amount)}, "
                f"ngày {day(event.effective_date)}{decision(event)}."
            ),
        )

    @process_event.register
    def _adjusted(self, event: BudgetLine.Adjusted, position: int) -> None:
        way = "tăng" if event.amount >= 0 else "giảm"
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Điều chỉnh {self._label(event.originator_id)}: {way} {vnd(abs(event.amount))}, "
                f"ngày {day(event.effective_date)}{decision(event)}."
            ),
        )

    @process_event.register
    def _committed(self, event: BudgetLine.Committed, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Cam kết {vnd(event.amount)} trên {self._label(event.originator_id)} cho "
                f"{self._label(event.record_id)}{decision(event)}."
            ),
        )

    @process_event.register
    def _released(self, event: BudgetLine.Released, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Giải phóng {vnd(event.amount)} đã cam kết trên "
                f"{self._label(event.originator_id)} của {self._label(event.record_id)}."
            ),
        )

    @process_event.register
    def _line_disbursed(self, event: BudgetLine.Disbursed, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Chi {vnd(event.amount)} từ {self._label(event.originator_id)} cho "
                f"{self._label(event.record_id)} ngày {day(event.effective_date)}{voucher(event)}."
            ),
        )

    @process_event.register
    def _line_reversed(self, event: BudgetLine.DisbursementReversed, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Ghi giảm khoản chi {vnd(event.amount)} từ {self._label(event.originator_id)} "
                f"cho {self._label(event.record_id)} ngày {day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _line_recovered(self, event: BudgetLine.Recovered, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Thu hồi {vnd(event.amount)} về {self._label(event.originator_id)} từ "
                f"{self._label(event.record_id)} ngày {day(event.effective_date)}{voucher(event)}."
            ),
        )

    @process_event.register
    def _reduced(self, event: BudgetLine.Reduced, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Điều chỉnh giảm {self._label(event.originator_id)}: {vnd(event.amount)}, "
                f"ngày {day(event.effective_date)}{decision(event)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _carried_out(self, event: BudgetLine.CarriedOut, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Chuyển nguồn {vnd(event.amount)} đã cam kết chưa chi của "
                f"{self._label(event.record_id)} từ {self._label(event.originator_id)} sang "
                f"năm {event.to_year} khi khóa sổ ngày {day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _carried_in(self, event: BudgetLine.CarriedIn, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Nhận chuyển nguồn {vnd(event.amount)} từ năm {event.from_year} vào "
                f"{self._label(event.originator_id)}, cam kết ngay cho "
                f"{self._label(event.record_id)}, ngày {day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _line_cancelled(self, event: BudgetLine.Cancelled, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Hủy dự toán {vnd(event.amount)} chưa cam kết của "
                f"{self._label(event.originator_id)} khi khóa sổ ngày "
                f"{day(event.effective_date)}."
            ),
        )

    # -- budget years --------------------------------------------------------------------------

    @process_event.register
    def _year_closed(self, event: BudgetYear.Closed, position: int) -> None:
        label = f"năm ngân sách {event.budget_year}"
        self._name(event.originator_id, label)
        self._row(
            event,
            position,
            {"carried_out": event.carried_out, "cancelled": event.cancelled},
            (
                f"Khóa sổ {label} ngày {day(event.effective_date)}: chuyển nguồn "
                f"{vnd(event.carried_out)} sang năm {event.budget_year + 1}, hủy dự toán "
                f"{vnd(event.cancelled)}."
            ),
        )

    @process_event.register
    def _year_reclosed(self, event: BudgetYear.Reclosed, position: int) -> None:
        self._row(
            event,
            position,
            {"carried_out": event.carried_out, "cancelled": event.cancelled},
            (
                f"Khóa sổ lại {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}: chuyển nguồn thêm {vnd(event.carried_out)}, hủy "
                f"thêm {vnd(event.cancelled)} dự toán."
            ),
        )

    @process_event.register
    def _year_reopened(self, event: BudgetYear.Reopened, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Mở lại sổ {self._label(event.originator_id)} ngày {day(event.effective_date)}"
                f"{because(event.reason)}."
            ),
        )

    # -- support rules ---------------------------------------------------------------------------

    @process_event.register
    def _rules_opened(self, event: SupportRules.Opened, position: int) -> None:
        label = f"mức hỗ trợ «{support_vi(event.support_type)}»"
        self._name(event.originator_id, label)
        self._row(event, position, NO_AMOUNTS, f"Mở sổ {label} ngày {day(event.effective_date)}.")

    @process_event.register
    def _rule_set(self, event: SupportRules.RuleSet, position: int) -> None:
        self._row(
            event,
            position,
            {"max_amount": event.max_amount},
            (
                f"Ban hành {self._label(event.originator_id)} áp dụng từ ngày "
                f"{day(event.effective_from)}: ngân sách thành phố hỗ trợ tối đa "
                f"{event.max_share_percent}% chi phí và không quá {vnd(event.max_amount)} "
                f"(văn bản {event.document_no} ngày {day(event.signed_on)})."
            ),
        )

    # -- annual estimates ------------------------------------------------------------------------

    @process_event.register
    def _estimate_opened(self, event: AnnualEstimate.Opened, position: int) -> None:
        label = f"dự toán năm {event.budget_year}"
        self._name(event.originator_id, label)
        self._row(
            event,
            position,
            NO_AMOUNTS,
            f"Mở {label} để tổng hợp nhu cầu ngày {day(event.effective_date)}.",
        )

    @process_event.register
    def _needs(self, event: AnnualEstimate.NeedsReported, position: int) -> None:
        note = clause(event.note)
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"{event.department} báo cáo nhu cầu hỗ trợ cho "
                f"{self._label(event.originator_id)} ngày {day(event.effective_date)}: "
                f"{event.project}, {support_vi(event.support_type)}, {event.enterprises} doanh "
                f"nghiệp, {vnd(event.amount)}{f', ghi chú: {note}' if note else ''}."
            ),
        )

    @process_event.register
    def _estimate_drafted(self, event: AnnualEstimate.Drafted, position: int) -> None:
        total = sum(line["amount"] for line in event.lines)
        self._row(
            event,
            position,
            {"total": total},
            (
                f"Lập {self._label(event.originator_id)} (bản {event.version}) ngày "
                f"{day(event.effective_date)}: {len(event.lines)} dòng, tổng {vnd(total)}."
            ),
        )

    @process_event.register
    def _estimate_appraised(self, event: AnnualEstimate.Appraised, position: int) -> None:
        total = sum(line["amount"] for line in event.lines)
        changed = sum(1 for line in event.lines if line.get("drafted") != line["amount"])
        self._row(
            event,
            position,
            {"total": total},
            (
                f"Thẩm định {self._label(event.originator_id)} (bản {event.draft_version}) ngày "
                f"{day(event.effective_date)}: tổng {vnd(total)}, {changed} dòng điều chỉnh so "
                "với bản dự thảo."
            ),
        )

    @process_event.register
    def _estimate_returned(self, event: AnnualEstimate.Returned, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Trả lại {self._label(event.originator_id)} để lập lại ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _estimate_approved(self, event: AnnualEstimate.Approved, position: int) -> None:
        total = sum(line["amount"] for line in event.lines)
        self._row(
            event,
            position,
            {"total": total},
            (
                f"Phê duyệt {self._label(event.originator_id)} ngày {day(event.effective_date)} "
                f"(QĐ {event.decision_no}): tổng {vnd(total)} trên {len(event.lines)} dòng, "
                "giao dự toán năm."
            ),
        )

    # -- applications ------------------------------------------------------------------------

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        label = f"hồ sơ {event.dossier_no}"
        self._name(event.originator_id, label)
        support = catalogue.SUPPORT_TYPES.get(event.support_type)
        kind = support.name_vi if support is not None else event.support_type
        self._row(
            event,
            position,
            {"total_cost": event.total_cost, "requested": event.requested},
            (
                f"Tiếp nhận {label} của {self._label(event.enterprise_id)} ngày "
                f"{day(event.effective_date)} ({event.project}, {kind}): tổng kinh phí "
                f"{vnd(event.total_cost)}, đề nghị {funding(event.requested)}."
            ),
        )

    @process_event.register
    def _returned(self, event: SupportApplication.Returned, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Trả lại {self._label(event.originator_id)} để bổ sung ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _resubmitted(self, event: SupportApplication.Resubmitted, position: int) -> None:
        note = clause(event.note)
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Nộp lại {self._label(event.originator_id)} sau khi bổ sung ngày "
                f"{day(event.effective_date)}{f', ghi chú: {note}' if note else ''}."
            ),
        )

    @process_event.register
    def _appraised(self, event: SupportApplication.Appraised, position: int) -> None:
        self._row(
            event,
            position,
            {"recommended": event.recommended},
            (
                f"Thẩm định {self._label(event.originator_id)} ngày {day(event.effective_date)}: "
                f"đề xuất hỗ trợ {funding(event.recommended)}."
            ),
        )

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        self._row(
            event,
            position,
            {"approved": event.approved},
            (
                f"Phê duyệt {self._label(event.originator_id)}: {funding(event.approved)}, "
                f"năm ngân sách {event.budget_year}{channel_vi(event.channel)}{decision(event)}."
            ),
        )

    @process_event.register
    def _rejected(self, event: SupportApplication.Rejected, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Từ chối {self._label(event.originator_id)} ngày {day(event.effective_date)}"
                f"{because(event.reason)}."
            ),
        )

    @process_event.register
    def _withdrawn(self, event: SupportApplication.Withdrawn, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Doanh nghiệp rút {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _contract(self, event: SupportApplication.ContractSigned, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Ký hợp đồng số {event.contract_no} cho {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _disbursed(self, event: SupportApplication.Disbursed, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"{DISBURSEMENT_VI.get(event.kind, 'Chi')} {vnd(event.amount)} ngân sách thành phố "
                f"cho {self._label(event.originator_id)} ngày {day(event.effective_date)}"
                f"{voucher(event)}."
            ),
        )

    @process_event.register
    def _reversed(self, event: SupportApplication.DisbursementReversed, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Hủy khoản chi {vnd(event.amount)} của {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        result = "đạt" if event.result == "passed" else "không đạt"
        outputs = "; ".join(f"{v} cho mục tiêu «{_target(k)}»" for k, v in event.outputs.items())
        spent = event.counterpart_spent
        amounts = NO_AMOUNTS if spent is None else {"counterpart_spent": spent}
        counterpart = "" if spent is None else f", vốn đối ứng đã chi: {funding(spent)}"
        self._row(
            event,
            position,
            amounts,
            (
                f"Nghiệm thu {self._label(event.originator_id)} ngày {day(event.effective_date)}: "
                f"{result}{f', kết quả: {outputs}' if outputs else ''}{counterpart}."
            ),
        )

    @process_event.register
    def _app_carried(self, event: SupportApplication.CommitmentCarried, position: int) -> None:
        self._carried(event, position)

    @process_event.register
    def _settled(self, event: SupportApplication.Settled, position: int) -> None:
        self._row(
            event,
            position,
            {"released": event.released},
            (
                f"Thanh lý hợp đồng, quyết toán {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}, giải phóng {vnd(event.released)} chưa sử dụng."
            ),
        )

    @process_event.register
    def _cancelled(self, event: SupportApplication.Cancelled, position: int) -> None:
        self._row(
            event,
            position,
            {"released": event.released},
            (
                f"Hủy {self._label(event.originator_id)} ngày {day(event.effective_date)}, giải "
                f"phóng {vnd(event.released)} chưa sử dụng{because(event.reason)}."
            ),
        )

    @process_event.register
    def _recovery_ordered(self, event: SupportApplication.RecoveryOrdered, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Yêu cầu thu hồi {vnd(event.amount)} của {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _recovery_received(self, event: SupportApplication.RecoveryReceived, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Nhận {vnd(event.amount)} tiền thu hồi của {self._label(event.originator_id)} "
                f"ngày {day(event.effective_date)}{voucher(event)}."
            ),
        )

    # -- program activities --------------------------------------------------------------------

    @process_event.register
    def _activity(self, event: ProgramActivity.Approved, position: int) -> None:
        label = f"hoạt động «{clause(event.title)}»"
        self._name(event.originator_id, label)
        self._row(
            event,
            position,
            {"budget": event.budget},
            (
                f"Phê duyệt {label} của {event.department_code} ({event.project}, "
                f"{catalogue.ACTIVITY_KINDS.get(event.kind, event.kind)}): kinh phí "
                f"{vnd(event.budget)}, năm ngân sách {event.budget_year}"
                f"{channel_vi(event.channel)}{decision(event)}."
            ),
        )

    @process_event.register
    def _spent(self, event: ProgramActivity.Spent, position: int) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Chi {vnd(event.amount)} cho {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}{voucher(event)}."
            ),
        )

    @process_event.register
    def _completed(self, event: ProgramActivity.Completed, position: int) -> None:
        self._row(
            event,
            position,
            {"released": event.released},
            (
                f"Hoàn thành {self._label(event.originator_id)} ngày {day(event.effective_date)}, "
                f"giải phóng {vnd(event.released)} chưa sử dụng."
            ),
        )

    @process_event.register
    def _activity_carried(self, event: ProgramActivity.CommitmentCarried, position: int) -> None:
        self._carried(event, position)

    def _carried(
        self,
        event: SupportApplication.CommitmentCarried | ProgramActivity.CommitmentCarried,
        position: int,
    ) -> None:
        self._row(
            event,
            position,
            {"amount": event.amount},
            (
                f"Chuyển nguồn {vnd(event.amount)} kinh phí đã cam kết chưa chi của "
                f"{self._label(event.originator_id)} từ năm {event.from_year} sang năm "
                f"{event.to_year} ngày {day(event.effective_date)}: các khoản chi sau đó lấy "
                f"từ dự toán năm {event.to_year}."
            ),
        )

    # -- users and unique numbers ------------------------------------------------------------

    @process_event.register
    def _granted(self, event: User.Granted, position: int) -> None:
        self._name(event.originator_id, f"người dùng {event.name}")
        self._person(event)
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Cấp quyền truy cập cho người dùng {event.name}, vai trò "
                f"{ROLE_NAMES_VI.get(event.role, event.role)}, đơn vị "
                f"{event.department_code}, ngày {day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _revoked(self, event: User.Revoked, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Thu hồi quyền truy cập của {self._label(event.originator_id)} ngày "
                f"{day(event.effective_date)}{because(event.reason)}."
            ),
        )

    @process_event.register
    def _user_changed(self, event: User.Changed, position: int) -> None:
        label = self._label(event.originator_id)
        names = {"name": "tên", "department": "đơn vị"}
        changes = ", ".join(f"{names.get(k, k)} thành {v}" for k, v in event.changes.items())
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Thay đổi thông tin {label} ngày {day(event.effective_date)}: {changes}"
                f"{because(event.reason)}."
            ),
        )
        person = self._person(event)  # after the row: the actor may be the user changed
        self._name(event.originator_id, f"người dùng {person.name}")

    @process_event.register
    def _guard_opened(self, event: Administrators.Opened, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Mở sổ theo dõi quản trị viên (luôn còn ít nhất một quản trị viên) ngày "
                f"{day(event.effective_date)}."
            ),
        )

    @process_event.register
    def _admin_revoked(self, event: Administrators.AdminRevoked, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Thu hồi quyền quản trị của {self._label(event.user_id)} ngày "
                f"{day(event.effective_date)}: còn {event.remaining} quản trị viên."
            ),
        )

    @process_event.register
    def _claimed(self, event: NaturalKey.Claimed, position: int) -> None:
        self._row(
            event,
            position,
            NO_AMOUNTS,
            (
                f"Đăng ký {KEY_KIND_VI.get(event.kind, event.kind)} {event.value} (số không được "
                f"trùng) ngày {day(event.effective_date)}."
            ),
        )


# -- queries ---------------------------------------------------------------------------------


def conditions(
    trail: Table,
    record_id: UUID | str | None = None,
    actor: str | None = None,
    department: str | None = None,
    event_type: str | None = None,
    from_: dt.date | None = None,
    to: dt.date | None = None,
) -> list[Any]:
    """The report's filters as WHERE conditions on the trail (the exports use them too)."""
    found: list[Any] = []
    if record_id is not None:
        found.append(trail.c.record_id == as_uuid(record_id))
    if actor is not None:
        found.append(trail.c.actor == actor)
    if department is not None:
        found.append(trail.c.department == department)
    if event_type is not None:
        found.append(trail.c.event_type == event_type)
    if from_ is not None:
        found.append(trail.c.effective_date >= from_)
    if to is not None:
        found.append(trail.c.effective_date <= to)
    return found


#: what a personnel row says to a reader who may not read personnel data
WITHHELD = (
    "Thay đổi về quyền truy cập: nội dung là thông tin nhân sự, đã ẩn (chỉ quản trị viên và "
    "thanh tra được xem)."
)


def as_read(rows: Iterable[Any], personnel: bool) -> Iterator[Mapping[str, Any]]:
    """The trail's rows as a reader sees them: in full with ``personnel`` (see
    ``ledger.access.may_read_personnel``), else without the actors' names (``actor_name``
    null), and each row of a personnel record (a user's access) keeps its place, times,
    record, event type, actor id, department and leaf hash but says only :data:`WITHHELD`,
    with no references: left out, it would look like a deleted event. Every answer of the
    trail (report, past view, files) reads through here."""
    for row in rows:
        if personnel:
            yield row
        elif row["record_type"] not in PERSONNEL_RECORDS:
            yield {**row, "actor_name": None}
        else:
            yield {**row, "actor_name": None, "summary": WITHHELD, "references": {}}


def report(
    connection: Connection,
    tables: dict[str, Table],
    record_id: UUID | str | None = None,
    actor: str | None = None,
    department: str | None = None,
    event_type: str | None = None,
    from_: dt.date | None = None,
    to: dt.date | None = None,
    order: str = "asc",
    page: int = 1,
    page_size: int = 50,
    *,
    personnel: bool = True,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the trail and the number of the next page (None on the last).

    ``from_`` and ``to`` bound the effective date (both included); ``order`` is ``asc`` or
    ``desc`` by position. Rows ``{position, recorded_at, effective_date, record_type,
    record_id, event_type, actor, actor_name, department, department_name, amounts,
    references, summary}``, times and dates in ISO 8601 (recorded times in UTC). Personnel
    data (the actors' names, the rows of personnel records) is withheld unless ``personnel``
    (:func:`as_read`; the HTTP API says whether, the command line reads all)."""
    if order not in ("asc", "desc"):
        raise ValueError("order is asc or desc")
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")
    trail = tables["audit_trail"]
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
    )
    query = query.where(*conditions(trail, record_id, actor, department, event_type, from_, to))
    by = trail.c.position.asc() if order == "asc" else trail.c.position.desc()
    query = query.order_by(by).offset((page - 1) * page_size).limit(page_size + 1)
    rows = []
    for found in as_read(connection.execute(query).mappings(), personnel):
        row = dict(found)
        row["recorded_at"] = row["recorded_at"].replace(tzinfo=dt.UTC).isoformat()
        row["effective_date"] = row["effective_date"].isoformat()
        row["record_id"] = str(row["record_id"])
        row["department_name"] = department_name(row["department"])
        rows.append(row)
    if len(rows) > page_size:
        return rows[:page_size], page + 1
    return rows, None
