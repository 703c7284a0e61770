"""The program as IATI 2.03 activity XML (open data): ``GET /api/exports/iati.xml``.

One ``iati-activity`` per project DA1–DA4. The IATI standard describes an activity as what
a funder finances toward one purpose, with its own budget and results; in the decision
that is a project (dự án): each has its own content lines, targets, lead body and budget
lines, while a single application (hồ sơ) is a small grant inside it. So an application is
not an activity of its own but the counterpart of the project's transactions: its approval
is an outgoing commitment to the enterprise, its payments disbursements to it.

- reporting organisation: Sở Khoa học và Công nghệ Hà Nội (``VN-HN-SKHCN``: an identifier of
  our own; no IATI registration agency lists the city's departments);
- participating organisations: the People's Committee of Hanoi funds (role 1) and is
  accountable (role 2); Sở KH&CN extends the money (role 3); the project's lead and
  coordinating bodies implement it (role 4);
- sector (DAC 5-digit, vocabulary 1): 32130 SME development for DA1 and DA2 (standards,
  conformity, management systems), 32182 technological research and development for DA3 and
  DA4 (technology, intellectual property);
- budgets: per year, the approved estimate (dự toán được phê duyệt) of the project's city
  budget lines, all channels, status 2 (committed);
- transactions, dated by their effective dates, in VND: 2 outgoing commitment (approvals of
  applications and activities; a release at settlement or cancellation is a negative
  commitment), 3 disbursement (payments to enterprises; a reversal is negative), 4
  expenditure (a department's own spending on its activity), and a **recovery** (money an
  enterprise paid back) is a negative disbursement, type 3: it is the same flow undone, not
  money received by the program from a funder (type 1, incoming funds, is not used).
  Carry-overs at a year's close move a commitment from one year's line to the next and are
  not transactions.

The numbers come from the ``program`` read model, read at one position; the document names
that position and its Merkle root in an element of its own namespace (``nscl:evidence``),
which the schema allows after the activities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Connection, Table, func, select

from ledger import catalogue

REPORTING_ORG = "VN-HN-SKHCN"
REPORTING_ORG_NAME = "Sở Khoa học và Công nghệ thành phố Hà Nội"
CITY_NAME = "Ủy ban nhân dân thành phố Hà Nội"
NAMESPACE = "urn:nscl-ledger:evidence"
SECTORS = {"DA1": "32130", "DA2": "32130", "DA3": "32182", "DA4": "32182"}
TYPES = {"commitment": "2", "disbursement": "3", "recovery": "3", "expenditure": "4"}
GOVERNMENT, PRIVATE_SECTOR = "10", "70"
MEDIA_TYPE = "application/xml"


def identifier(project: str) -> str:
    return f"{REPORTING_ORG}-6374-{project}"


def write(
    connection: Connection,
    tables: dict[str, Table],
    out: IO[bytes],
    position: int,
    root_hash: str | None,
    now: dt.datetime | None = None,
) -> None:
    """Write the IATI document of the ``program`` read model (``tables``) to ``out``."""
    moment = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    budgets = _budgets(connection, tables)
    closed = _last_year_closed(connection, tables)

    def put(text: str) -> None:
        out.write(text.encode("utf-8"))

    put('<?xml version="1.0" encoding="UTF-8"?>\n')
    put(
        f'<iati-activities version="2.03" generated-datetime="{moment}" xmlns:nscl="{NAMESPACE}">\n'
    )
    for code, project in catalogue.PROJECTS.items():
        dates = _dates(connection, tables, code)
        put(
            f' <iati-activity last-updated-datetime="{moment}" xml:lang="vi" '
            'default-currency="VND" hierarchy="1">\n'
        )
        put(f"  <iati-identifier>{identifier(code)}</iati-identifier>\n")
        put(_org("reporting-org", REPORTING_ORG_NAME, ref=REPORTING_ORG))
        title = _narrative(f"{code}: {project.name_vi}") + _narrative(project.name_en, "en")
        put(f"  <title>{title}</title>\n")
        put(
            '  <description type="1">'
            + _narrative(
                f"{project.name_vi} — một dự án của {catalogue.PROGRAM.name_vi} "
                f"(Quyết định {catalogue.PROGRAM.decision_no} ngày "
                f"{catalogue.PROGRAM.decided_on:%d/%m/%Y})."
            )
            + "</description>\n"
        )
        put(_org("participating-org", CITY_NAME, role="1"))
        put(_org("participating-org", CITY_NAME, role="2"))
        put(_org("participating-org", REPORTING_ORG_NAME, ref=REPORTING_ORG, role="3"))
        for body in (project.lead, *project.coordinating):
            found = catalogue.DEPARTMENTS.get(body)
            put(_org("participating-org", found.name_vi if found else body, role="4"))
        put(f'  <activity-status code="{4 if closed else 3}"/>\n')
        put('  <activity-date iso-date="2011-01-01" type="1"/>\n')
        if dates[0] is not None:
            put(f'  <activity-date iso-date="{dates[0]}" type="2"/>\n')
        put('  <activity-date iso-date="2020-12-31" type="3"/>\n')
        if closed and dates[1] is not None:
            put(f'  <activity-date iso-date="{dates[1]}" type="4"/>\n')
        put('  <recipient-country code="VN" percentage="100"/>\n')
        put(f'  <sector vocabulary="1" code="{SECTORS[code]}" percentage="100"/>\n')
        for year, amount in budgets.get(code, []):
            put(
                '  <budget type="1" status="2">'
                f'<period-start iso-date="{year}-01-01"/><period-end iso-date="{year}-12-31"/>'
                f'<value currency="VND" value-date="{year}-01-01">{amount}</value></budget>\n'
            )
        for row in _transactions(connection, tables, code):
            put(_transaction(row))
        put(" </iati-activity>\n")
    put(
        f' <nscl:evidence position="{position}" root-hash="{root_hash or ""}">'
        f"Số liệu từ sổ cái đến vị trí {position}; mã băm gốc Merkle {root_hash or 'chưa có'}."
        "</nscl:evidence>\n"
    )
    put("</iati-activities>\n")


def _org(element: str, name: str, *, ref: str | None = None, role: str | None = None) -> str:
    """A government body as an organisation element of the activity."""
    attributes = (f' ref="{ref}"' if ref else "") + (f' role="{role}"' if role else "")
    return f'  <{element}{attributes} type="{GOVERNMENT}">{_narrative(name)}</{element}>\n'


def _narrative(text: str, lang: str | None = None) -> str:
    attribute = f' xml:lang="{lang}"' if lang else ""
    return f"<narrative{attribute}>{escape(text)}</narrative>"


def _transaction(row: dict[str, Any]) -> str:
    kind = row["kind"]
    amount = -row["amount"] if kind == "recovery" else row["amount"]
    date = row["effective_date"].isoformat()
    what = {
        "commitment": "Cam kết (phê duyệt)" if amount >= 0 else "Giải phóng cam kết",
        "disbursement": "Giải ngân" if amount >= 0 else "Hủy chứng từ giải ngân",
        "expenditure": "Chi hoạt động" if amount >= 0 else "Hủy chứng từ chi",
        "recovery": "Thu hồi kinh phí (giải ngân âm)",
    }[kind]
    description = f"{what}; năm ngân sách {row['budget_year']}, kênh {row['channel']}"
    if row["reference"]:
        description += f"; {row['reference']}"
    receiver = ""
    if row["enterprise"] is not None:
        receiver = (
            f'<receiver-org type="{PRIVATE_SECTOR}">{_narrative(row["enterprise"])}</receiver-org>'
        )
    elif row["department"] is not None:
        found = catalogue.DEPARTMENTS.get(row["department"])
        name = found.name_vi if found is not None else row["department"]
        receiver = f'<receiver-org type="{GOVERNMENT}">{_narrative(name)}</receiver-org>'
    return (
        f"  <transaction ref={quoteattr(str(row['position']))}>"
        f'<transaction-type code="{TYPES[kind]}"/><transaction-date iso-date="{date}"/>'
        f'<value currency="VND" value-date="{date}">{amount}</value>'
        f"<description>{_narrative(description)}</description>{receiver}</transaction>\n"
    )


def _transactions(
    connection: Connection, tables: dict[str, Table], project: str
) -> Iterator[dict[str, Any]]:
    t = tables["program_transactions"]
    apps, enterprises = tables["program_applications"], tables["program_enterprises"]
    activities = tables["program_activity_ids"]
    query = (
        select(
            t, enterprises.c.name.label("enterprise"), activities.c.department.label("department")
        )
        .select_from(
            t.outerjoin(apps, apps.c.application_id == t.c.record_id)
            .outerjoin(enterprises, enterprises.c.enterprise_id == apps.c.enterprise_id)
            .outerjoin(activities, activities.c.activity_id == t.c.record_id)
        )
        .where(t.c.project == project)
        .order_by(t.c.position)
    )
    for row in connection.execute(query.execution_options(yield_per=5000)).mappings():
        yield dict(row)


def _dates(
    connection: Connection, tables: dict[str, Table], project: str
) -> tuple[str | None, str | None]:
    t = tables["program_transactions"]
    first, last = connection.execute(
        select(func.min(t.c.effective_date), func.max(t.c.effective_date)).where(
            t.c.project == project
        )
    ).one()
    return (
        first.isoformat() if first is not None else None,
        last.isoformat() if last is not None else None,
    )


def _budgets(connection: Connection, tables: dict[str, Table]) -> dict[str, list[tuple[int, int]]]:
    """Per project, (year, approved estimate) for the years with one."""
    t = tables["program_budget_execution"]
    query = (
        select(t.c.project, t.c.budget_year, func.sum(t.c.approved))
        .where(t.c.source == catalogue.CITY_BUDGET)
        .group_by(t.c.project, t.c.budget_year)
        .order_by(t.c.project, t.c.budget_year)
    )
    found: dict[str, list[tuple[int, int]]] = {}
    for project, year, amount in connection.execute(query):
        if amount:
            found.setdefault(project, []).append((int(year), int(amount)))
    return found


def _last_year_closed(connection: Connection, tables: dict[str, Table]) -> bool:
    """Whether the program's last year (2020) has been closed (carried over or cancelled)."""
    t = tables["program_budget_execution"]
    closed = connection.execute(
        select(func.sum(t.c.carried_out + t.c.cancelled)).where(
            t.c.budget_year == catalogue.PROGRAM.period_end
        )
    ).scalar()
    return bool(closed)
