"""journal: double-entry postings for every money event; a trial balance per budget year.

Every money event is posted as balanced lines (Σ debit = Σ credit) on the accounts of one
budget year × project × source × channel, so the trial balance nets to zero for every budget
year, and the balances give back project_spend's figures: the city budget's per year ×
project × channel, counterpart funding's per year × project × source (channel "").

Chart of accounts (``ACCOUNTS``; each account is kept per budget year, project, source and
channel):

=========================  ====================================  ==========================
account                    Vietnamese                            normal balance
=========================  ====================================  ==========================
``budget_assigned``        dự toán được giao                     credit = assigned
``carried_in``             kinh phí chuyển nguồn từ năm trước    credit = carried in
``budget_available``       dự toán chưa sử dụng                  debit = available
``commitments``            cam kết chi chưa giải ngân            debit = committed − disbursed
                                                                 + recovered − carried out
``disbursements``          kinh phí đã giải ngân                 debit = disbursed
``recoveries``             kinh phí thu hồi nộp trả ngân sách    credit = recovered
``carried_out``            kinh phí chuyển nguồn sang năm sau    debit = carried out
``budget_cancelled``       dự toán bị hủy                        debit = cancelled
``counterpart_pledged``    vốn đối ứng đã cam kết                credit = pledged
``counterpart_open``       vốn đối ứng chưa thực hiện            debit = pledged − spent
``counterpart_spent``      vốn đối ứng đã chi                    debit = spent
=========================  ====================================  ==========================

Postings (debit / credit), city budget from the budget line's events:

* ``BudgetLine.Assigned``, ``Adjusted`` (giao, điều chỉnh tăng): budget_available /
  budget_assigned; ``Reduced`` (điều chỉnh giảm): the reverse;
* ``Committed`` (an approval or an activity commits the line): commitments /
  budget_available; ``Released`` (settlement, cancellation, completion): the reverse;
* ``Disbursed`` (advance, payment, activity spending): disbursements / commitments;
  ``DisbursementReversed``: the reverse;
* ``Recovered`` (money received back): commitments / recoveries — the money is owed to the
  commitment again until the application's closing releases it;
* ``CarriedOut`` (year close, on year Y's line): carried_out / commitments — the unpaid
  commitment leaves Y; ``CarriedIn`` (on Y+1's line): commitments / carried_in — it arrives
  committed, ``available`` unchanged. Each is balanced within its own year; over all years
  the carried_out debits equal the carried_in credits;
* ``Cancelled`` (year close): budget_cancelled / budget_available.

Counterpart funding (vốn đối ứng) is never a budget line: the enterprise and other shares of
an approval post counterpart_open / counterpart_pledged at ``SupportApplication.Approved``
(the reverse at ``Cancelled``), and what was spent as recorded at acceptance
counterpart_spent / counterpart_open. Lines of the enterprise and other sources in an old log
are not budget lines: nothing is posted for them.

So for each city-budget (year, project, channel): assigned = credit balance of
budget_assigned; carried_in = credit balance of carried_in; disbursed, carried_out and
cancelled = debit balances of their accounts; recovered = credit balance of recoveries;
committed = open commitments + disbursed − recovered + carried_out; available = debit balance
of budget_available. For each counterpart (year, project, source): pledged = credit balance
of counterpart_pledged, spent = debit balance of counterpart_spent.

Tables: ``journal_postings``, one row per (position, line no) with the posting's budget
year, effective date, account, debit, credit, project, source, channel, record (the
application, activity, or the budget line for an assignment) and a Vietnamese memo (what
happened and the decision or voucher number); ``journal_balances``, the debit and credit
totals per (year, project, source, channel, account), which the trial balance and the
reconciliation read; ``journal_apps``, each application's project, budget year and approved
counterpart shares, for the postings of cancellations and acceptances.
"""

from __future__ import annotations

import datetime as dt
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Connection, Date, Integer, String, Table, Uuid, func, select

from ledger import catalogue
from ledger.budget_line import BUDGET_LINES, BudgetLine
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef

NAME = "journal"

#: account code -> Vietnamese name, in the order of the trial balance
ACCOUNTS: dict[str, str] = {
    "budget_assigned": "Dự toán được giao",
    "budget_available": "Dự toán chưa sử dụng",
    "commitments": "Cam kết chi chưa giải ngân",
    "disbursements": "Kinh phí đã giải ngân",
    "recoveries": "Kinh phí thu hồi nộp trả ngân sách",
    "carried_in": "Kinh phí chuyển nguồn từ năm trước",
    "carried_out": "Kinh phí chuyển nguồn sang năm sau",
    "budget_cancelled": "Dự toán bị hủy",
    "counterpart_pledged": "Vốn đối ứng đã cam kết",
    "counterpart_open": "Vốn đối ứng chưa thực hiện",
    "counterpart_spent": "Vốn đối ứng đã chi",
}

#: the counterpart sources an approval pledges (the city share is committed on its line)
SHARES = catalogue.COUNTERPART_SOURCES
#: the channel of a counterpart posting: counterpart money is on no channel
NO_CHANNEL = ""

POSTINGS = TableDef(
    "journal_postings",
    ("position", "line_no"),
    lambda name, md: Table(
        name,
        md,
        Column("position", BIGINT, primary_key=True),
        Column("line_no", Integer, primary_key=True),
        Column("budget_year", Integer, nullable=False),
        Column("effective_date", Date, nullable=False),
        Column("account", String(32), nullable=False),
        Column("debit", BIGINT, nullable=False),
        Column("credit", BIGINT, nullable=False),
        Column("project", String(8), nullable=False),
        Column("source", String(16), nullable=False),
        Column("channel", String(24), nullable=False),
        Column("record_id", Uuid, nullable=False),
        Column("memo", String(200), nullable=False),
    ),
    appended=True,
)

BALANCES = TableDef(
    "journal_balances",
    ("budget_year", "project", "source", "channel", "account"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        Column("source", String(16), primary_key=True),
        Column("channel", String(24), primary_key=True),
        Column("account", String(32), primary_key=True),
        Column("debit", BIGINT, nullable=False),
        Column("credit", BIGINT, nullable=False),
    ),
)

APPS = TableDef(
    "journal_apps",
    ("application_id",),
    lambda name, md: Table(
        name,
        md,
        Column("application_id", Uuid, primary_key=True),
        Column("project", String(8), nullable=False),
        Column("budget_year", Integer, nullable=True),
        Column("enterprise", BIGINT, nullable=False),
        Column("other", BIGINT, nullable=False),
    ),
)

#: the counterpart shares, as the memos name them
SHARE_NAMES = {"enterprise": "vốn đối ứng của doanh nghiệp", "other": "vốn đối ứng từ nguồn khác"}

#: (budget year, project, source, channel): the accounts' dimensions
Key = tuple[int, str, str, str]


class Journal(Projection):
    NAME = NAME
    TABLES = (POSTINGS, BALANCES, APPS)

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        super().__init__(tables, rebuilding=rebuilding)
        self._position = 0
        self._line_no = 0

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    # -- helpers -----------------------------------------------------------------------------

    def _post(
        self,
        position: int,
        event: Any,
        key: Key,
        debit: str,
        credit: str,
        amount: int,
        record_id: UUID,
        memo: str,
    ) -> None:
        """Post ``amount`` from ``credit`` to ``debit`` on (year, project, source, channel):
        two lines."""
        if amount == 0:
            return
        if amount < 0:
            debit, credit, amount = credit, debit, -amount
        if position != self._position:
            self._position, self._line_no = position, 0
        year, project, source, channel = key
        effective_date: dt.date = event.effective_date
        reference = next(iter(event.references.values()), None)
        if reference:
            memo = f"{memo} ({reference})"
        postings = self.rows("journal_postings")
        for account, side, other in ((debit, "debit", "credit"), (credit, "credit", "debit")):
            self._line_no += 1
            postings.append(
                {
                    "position": position,
                    "line_no": self._line_no,
                    "budget_year": year,
                    "effective_date": effective_date,
                    "account": account,
                    side: amount,
                    other: 0,
                    "project": project,
                    "source": source,
                    "channel": channel,
                    "record_id": record_id,
                    "memo": memo,
                }
            )
            self._balance(key, account)[side] += amount

    def _balance(self, key: Key, account: str) -> dict[str, Any]:
        year, project, source, channel = key
        return self.rows("journal_balances").get_or_create(
            (*key, account),
            lambda: {
                "budget_year": year,
                "project": project,
                "source": source,
                "channel": channel,
                "account": account,
                "debit": 0,
                "credit": 0,
            },
        )

    def _line(
        self,
        event: Any,
        position: int,
        debit: str,
        credit: str,
        amount: int,
        record_id: UUID,
        memo: str,
    ) -> None:
        key = BUDGET_LINES[event.originator_id]
        if key[2] != catalogue.CITY_BUDGET:
            return  # a line of an old log's counterpart source: not a budget line
        self._post(position, event, key, debit, credit, amount, record_id, memo)

    # -- budget lines --------------------------------------------------------------------------

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._line(
            event,
            position,
            "budget_available",
            "budget_assigned",
            event.amount,
            event.originator_id,
            "Giao dự toán",
        )

    @process_event.register
    def _adjusted(self, event: BudgetLine.Adjusted, position: int) -> None:
        self._line(
            event,
            position,
            "budget_available",
            "budget_assigned",
            event.amount,
            event.originator_id,
            "Điều chỉnh dự toán",
        )

    @process_event.register
    def _committed(self, event: BudgetLine.Committed, position: int) -> None:
        self._line(
            event,
            position,
            "commitments",
            "budget_available",
            event.amount,
            event.record_id,
            "Cam kết chi",
        )

    @process_event.register
    def _released(self, event: BudgetLine.Released, position: int) -> None:
        self._line(
            event,
            position,
            "budget_available",
            "commitments",
            event.amount,
            event.record_id,
            "Giải phóng cam kết chưa sử dụng",
        )

    @process_event.register
    def _disbursed(self, event: BudgetLine.Disbursed, position: int) -> None:
        self._line(
            event,
            position,
            "disbursements",
            "commitments",
            event.amount,
            event.record_id,
            "Giải ngân",
        )

    @process_event.register
    def _reversed(self, event: BudgetLine.DisbursementReversed, position: int) -> None:
        self._line(
            event,
            position,
            "commitments",
            "disbursements",
            event.amount,
            event.record_id,
            "Hủy khoản giải ngân",
        )

    @process_event.register
    def _recovered(self, event: BudgetLine.Recovered, position: int) -> None:
        self._line(
            event,
            position,
            "commitments",
            "recoveries",
            event.amount,
            event.record_id,
            "Thu hồi kinh phí",
        )

    @process_event.register
    def _reduced(self, event: BudgetLine.Reduced, position: int) -> None:
        self._line(
            event,
            position,
            "budget_assigned",
            "budget_available",
            event.amount,
            event.originator_id,
            "Điều chỉnh giảm dự toán",
        )

    @process_event.register
    def _carried_out(self, event: BudgetLine.CarriedOut, position: int) -> None:
        self._line(
            event,
            position,
            "carried_out",
            "commitments",
            event.amount,
            event.record_id,
            f"Chuyển nguồn sang năm {event.to_year}",
        )

    @process_event.register
    def _carried_in(self, event: BudgetLine.CarriedIn, position: int) -> None:
        self._line(
            event,
            position,
            "commitments",
            "carried_in",
            event.amount,
            event.record_id,
            f"Nhận chuyển nguồn từ năm {event.from_year}",
        )

    @process_event.register
    def _cancelled_rest(self, event: BudgetLine.Cancelled, position: int) -> None:
        self._line(
            event,
            position,
            "budget_cancelled",
            "budget_available",
            event.amount,
            event.originator_id,
            "Hủy dự toán không sử dụng",
        )

    # -- applications: the enterprise and other shares -------------------------------------------

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        self.rows("journal_apps").get_or_create(
            (event.originator_id,),
            lambda: {
                "application_id": event.originator_id,
                "project": event.project,
                "budget_year": None,
                "enterprise": 0,
                "other": 0,
            },
        )

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        app = self.rows("journal_apps").touch((event.originator_id,))
        assert app is not None, f"application {event.originator_id} was never submitted"
        app["budget_year"] = event.budget_year
        for source in SHARES:
            app[source] = event.approved.get(source, 0)
            self._post(
                position,
                event,
                (event.budget_year, app["project"], source, NO_CHANNEL),
                "counterpart_open",
                "counterpart_pledged",
                app[source],
                event.originator_id,
                f"Cam kết {SHARE_NAMES[source]}",
            )

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        if not event.counterpart_spent:
            return
        app = self.rows("journal_apps").get((event.originator_id,))
        assert app is not None and app["budget_year"] is not None, "accepted before approval"
        for source in SHARES:
            self._post(
                position,
                event,
                (app["budget_year"], app["project"], source, NO_CHANNEL),
                "counterpart_spent",
                "counterpart_open",
                event.counterpart_spent.get(source, 0),
                event.originator_id,
                f"Nghiệm thu: {SHARE_NAMES[source]} đã chi",
            )

    @process_event.register
    def _cancelled(self, event: SupportApplication.Cancelled, position: int) -> None:
        app = self.rows("journal_apps").get((event.originator_id,))
        if app is None or app["budget_year"] is None:
            return
        for source in SHARES:
            self._post(
                position,
                event,
                (app["budget_year"], app["project"], source, NO_CHANNEL),
                "counterpart_pledged",
                "counterpart_open",
                app[source],
                event.originator_id,
                f"Hủy cam kết {SHARE_NAMES[source]}",
            )


def trial_balance(
    connection: Connection, tables: dict[str, Table], budget_year: int | None = None
) -> tuple[list[dict[str, Any]], int, int]:
    """The trial balance (bảng cân đối tài khoản) of one budget year, or of all of them:
    rows ``{account, debit, credit}`` in chart order, each account's balance on its side
    (debit when its debits exceed its credits), with the totals of both columns."""
    balances = tables["journal_balances"]
    query = select(
        balances.c.account, func.sum(balances.c.debit), func.sum(balances.c.credit)
    ).group_by(balances.c.account)
    if budget_year is not None:
        query = query.where(balances.c.budget_year == budget_year)
    net = {account: int(dr) - int(cr) for account, dr, cr in connection.execute(query)}
    debits = {account: max(net.get(account, 0), 0) for account in ACCOUNTS}
    credits = {account: max(-net.get(account, 0), 0) for account in ACCOUNTS}
    rows: list[dict[str, Any]] = [
        {"account": account, "debit": debits[account], "credit": credits[account]}
        for account in ACCOUNTS
    ]
    return rows, sum(debits.values()), sum(credits.values())


def balances(
    connection: Connection, tables: dict[str, Table], budget_year: int | None = None
) -> dict[Key, dict[str, int]]:
    """Per (budget year, project, source, channel), project_spend's figures as the accounts
    give them: for the city budget ``{assigned, carried_in, committed, disbursed, recovered,
    carried_out, cancelled, available}``, for a counterpart source (channel "") ``{pledged,
    spent}``."""
    table = tables["journal_balances"]
    query = select(table)
    if budget_year is not None:
        query = query.where(table.c.budget_year == budget_year)
    net: dict[Key, dict[str, int]] = {}
    for row in connection.execute(query).mappings():
        key = (row["budget_year"], row["project"], row["source"], row["channel"])
        accounts = net.setdefault(key, dict.fromkeys(ACCOUNTS, 0))
        accounts[row["account"]] += row["debit"] - row["credit"]
    result = {}
    for key in sorted(net):
        accounts = net[key]
        if key[2] != catalogue.CITY_BUDGET:
            result[key] = {
                "pledged": -accounts["counterpart_pledged"],
                "spent": accounts["counterpart_spent"],
            }
            continue
        disbursed, recovered = accounts["disbursements"], -accounts["recoveries"]
        carried_out = accounts["carried_out"]
        result[key] = {
            "assigned": -accounts["budget_assigned"],
            "carried_in": -accounts["carried_in"],
            "committed": accounts["commitments"] + disbursed - recovered + carried_out,
            "disbursed": disbursed,
            "recovered": recovered,
            "carried_out": carried_out,
            "cancelled": accounts["budget_cancelled"],
            "available": accounts["budget_available"],
        }
    return result
