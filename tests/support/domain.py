"""The aggregates in memory: people, commands and records built by calling the aggregates'
own methods, with no database and no application service (the unit tests' ``Story``).

Every builder returns the aggregate with its events still pending; a :class:`Log` collects
them in the order they were made, and :func:`folded` folds them into a projection in memory.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import MetaData

from ledger import catalogue
from ledger import commands as c
from ledger.access import Actor
from ledger.base import LedgerAggregate, Meta
from ledger.budget_line import BudgetLine
from ledger.errors import LedgerError
from ledger.support_application import SupportApplication
from projections.base import Envelope, Key, Projection

P = TypeVar("P", bound=Projection)

YEAR = 2015
D = dt.date

CITY = 60_000_000  # the city-budget share an application asks for and is approved
ENTERPRISE = 40_000_000  # the enterprise's own share
ADVANCE = 20_000_000
PAYMENT = 10_000_000
RECOVERY = 5_000_000

OFFICER = Actor(user_id="officer", name="Nguyễn Văn An", role="officer", department="SKHCN")
APPRAISER = Actor(user_id="appraiser", name="Lê Văn Cường", role="officer", department="SKHCN")
APPROVER = Actor(user_id="approver", name="Trần Thị Bình", role="officer", department="SKHCN")
DISTRICT_OFFICER = Actor(
    user_id="district", name="Phạm Thị Dung", role="officer", department="QH-CAUGIAY"
)
FINANCE = Actor(user_id="finance", name="Hoàng Văn Em", role="finance", department="STC")
ADMIN = Actor(user_id="admin", name="Quản trị", role="admin", department="SKHCN")


#: the business date of a command, unless a test gives another
ON = D(YEAR, 2, 1)


def meta(actor: Actor = OFFICER, on: dt.date = ON, **references: str) -> Meta:
    return Meta(actor, uuid.uuid4(), on, dict(references))


def funding(city_budget: int, enterprise: int = 0, other: int = 0) -> c.Funding:
    return c.Funding(city_budget=city_budget, enterprise=enterprise, other=other)


def submission(
    city: int = CITY,
    enterprise: int = ENTERPRISE,
    other: int = 0,
    total_cost: int | None = None,
    project: str = "DA2",
    support_type: str = "iso_9001",
    enterprise_id: uuid.UUID | None = None,
) -> c.SubmitApplication:
    return c.SubmitApplication(
        enterprise_id=enterprise_id or uuid.uuid4(),
        dossier_no="HS-0001",
        project=project,
        support_type=support_type,
        title="Xây dựng và áp dụng ISO 9001:2015",
        total_cost=city + enterprise + other if total_cost is None else total_cost,
        requested=funding(city, enterprise, other),
        submitted_on=D(YEAR, 2, 1),
    )


def appraisal(
    city: int = CITY, enterprise: int = ENTERPRISE, other: int = 0
) -> c.AppraiseApplication:
    return c.AppraiseApplication(
        application_id=uuid.uuid4(),
        appraised_on=D(YEAR, 2, 15),
        recommended=funding(city, enterprise, other),
        note="Đủ điều kiện",
    )


def approval(
    city: int = CITY, enterprise: int = ENTERPRISE, other: int = 0, year: int = YEAR
) -> c.ApproveApplication:
    return c.ApproveApplication(
        application_id=uuid.uuid4(),
        decision_no="QĐ-0001",
        decided_on=D(YEAR, 3, 1),
        budget_year=year,
        approved=funding(city, enterprise, other),
    )


def disbursement(amount: int, kind: str = "payment") -> c.RecordDisbursement:
    return c.RecordDisbursement(
        application_id=uuid.uuid4(),
        paid_on=D(YEAR, 4, 1),
        amount=amount,
        voucher_no=f"PC-{amount}",
        kind=kind,  # type: ignore[arg-type]
    )


def acceptance(result: str = "passed", outputs: dict[str, int] | None = None) -> c.RecordAcceptance:
    return c.RecordAcceptance(
        application_id=uuid.uuid4(),
        accepted_on=D(YEAR, 9, 1),
        result=result,  # type: ignore[arg-type]
        outputs=outputs or {},
    )


def activity_approval(department: str = "SCT", budget: int = 30_000_000) -> c.ApproveActivity:
    return c.ApproveActivity(
        department=department,
        project="DA2",
        kind="training",
        title="Tập huấn năng suất chất lượng",
        budget_year=YEAR,
        budget=budget,
        decision_no="QĐ-0001",
        approved_on=D(YEAR, 1, 20),
    )


# -- an application walked through its lifecycle ------------------------------------------------


def submitted(city: int = CITY, enterprise: int = ENTERPRISE, **given: Any) -> SupportApplication:
    return SupportApplication.submit(submission(city, enterprise, **given), meta(OFFICER))


def appraised(city: int = CITY, enterprise: int = ENTERPRISE, **given: Any) -> SupportApplication:
    app = submitted(city, enterprise, **given)
    app.appraise(appraisal(city, enterprise), meta(APPRAISER, D(YEAR, 2, 15)))
    return app


def approved(city: int = CITY, enterprise: int = ENTERPRISE, **given: Any) -> SupportApplication:
    app = appraised(city, enterprise, **given)
    app.approve(approval(city, enterprise), meta(APPROVER, D(YEAR, 3, 1)))
    return app


def contracted(city: int = CITY, enterprise: int = ENTERPRISE, **given: Any) -> SupportApplication:
    app = approved(city, enterprise, **given)
    app.sign_contract("HĐ-0001", meta(OFFICER, D(YEAR, 3, 10)))
    return app


def reach(status: str) -> SupportApplication:
    """An application in ``status`` (as ``Story.reach``: from ``contracted`` on, with an
    advance, a payment and an open recovery order)."""
    early: dict[str, Callable[[SupportApplication], object]] = {
        "submitted": lambda app: None,
        "returned": lambda app: app.return_for_completion("Thiếu hồ sơ", meta()),
        "withdrawn": lambda app: app.withdraw("Doanh nghiệp rút", meta()),
    }
    if status in early:
        app = submitted()
        early[status](app)
        return app
    if status in ("appraised", "rejected"):
        app = appraised()
        if status == "rejected":
            app.reject("Không đủ điều kiện", meta())
        return app
    if status == "approved":
        return approved()
    app = contracted()
    app.disburse(disbursement(ADVANCE, "advance"), meta())
    app.disburse(disbursement(PAYMENT), meta())
    app.order_recovery(RECOVERY, "Chi vượt định mức", meta(FINANCE))
    if status in ("accepted", "settled"):
        app.record_acceptance(acceptance("passed"), meta())
        if status == "settled":
            app.settle(None, meta())
    elif status == "acceptance_failed":
        app.record_acceptance(acceptance("failed"), meta())
    elif status == "cancelled":
        app.cancel("Doanh nghiệp dừng", meta())
    elif status != "contracted":
        raise AssertionError(f"no way to reach {status!r}")
    return app


def budget_line(
    amount: int = 1_000_000_000, year: int = YEAR, project: str = "DA2", source: str = "city_budget"
) -> BudgetLine:
    return BudgetLine.assign(
        year, project, source, catalogue.DEFAULT_CHANNEL, amount, meta(FINANCE, D(year, 1, 5))
    )


# -- refusals -----------------------------------------------------------------------------------


def refused(
    aggregate: LedgerAggregate, error: type[LedgerError], run: Callable[[], object]
) -> LedgerError:
    """Run ``run``, expect exactly ``error`` with its code, and prove the aggregate is as it
    was: the same version, the same state, no event added to those pending."""
    before = copy.deepcopy(vars(aggregate))
    with pytest.raises(error) as caught:
        run()
    assert type(caught.value) is error
    assert caught.value.code == error.code
    assert caught.value.detail, "a refusal says why in one sentence"
    assert vars(aggregate) == before, "a refused command changed the aggregate"
    return caught.value


# -- folds --------------------------------------------------------------------------------------


class Log:
    """Events in the order a command's aggregates made them, as the store would number them."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def take(self, *aggregates: LedgerAggregate) -> None:
        """Append the pending events of ``aggregates``, in that order."""
        for aggregate in aggregates:
            self.events.extend(aggregate.collect_events())

    def envelopes(self) -> list[Envelope]:
        return [Envelope(position, event) for position, event in enumerate(self.events, start=1)]


def folded(projection: type[P], log: Log) -> P:
    """``projection`` folded over ``log`` in memory (as a rebuild folds: every row in memory,
    no database to read one from)."""
    metadata = MetaData()
    tables = {d.name: d.make(metadata, "a") for d in projection.TABLES}
    fold = projection(tables, rebuilding=True)
    fold.fold(log.envelopes())
    return fold


def rows(projection: Projection, table: str) -> dict[Key, dict[str, Any]]:
    """The keyed rows of ``table`` after the fold, by key."""
    return dict(projection.rows(table).rows)


#: the figures of :func:`settled_application`'s budget lines
ASSIGNED = 1_000_000_000
ENTERPRISE_ASSIGNED = 200_000_000


def settled_application(log: Log) -> SupportApplication:
    """Into ``log``, as the service would write them: the city and enterprise lines of 2015 ×
    DA2 assigned (``ASSIGNED``, ``ENTERPRISE_ASSIGNED``); an application approved for
    ``CITY`` + ``ENTERPRISE`` and contracted; an advance (``ADVANCE``) and a payment
    (``PAYMENT``) paid, the payment reversed; a recovery of ``RECOVERY`` ordered and received;
    a passed acceptance; the settlement, which releases what was not paid out net of the
    recovery (60 − (20 − 5) = 45 million ₫)."""
    line = budget_line(ASSIGNED)
    own = budget_line(ENTERPRISE_ASSIGNED, source="enterprise")
    log.take(line, own)
    app = appraised()
    log.take(app)
    approving = meta(APPROVER, D(YEAR, 3, 1), decision_no="QĐ-0001")
    app.approve(approval(), approving)
    line.commit(app.id, CITY, approving)
    log.take(app, line)
    app.sign_contract("HĐ-0001", meta(on=D(YEAR, 3, 10)))
    log.take(app)
    for amount, kind in ((ADVANCE, "advance"), (PAYMENT, "payment")):
        paying = meta(on=D(YEAR, 4, 1), voucher_no=f"PC-{amount}")
        paid = app.disburse(disbursement(amount, kind), paying)
        line.disburse(app.id, paid, amount, paying)
        log.take(app, line)
    reversing = meta(on=D(YEAR, 4, 10))
    app.reverse_disbursement(paid, "Chi sai", reversing)
    line.reverse_disbursement(app.id, paid, PAYMENT, reversing)
    log.take(app, line)
    recovery = app.order_recovery(RECOVERY, "Chi vượt định mức", meta(FINANCE, D(YEAR, 5, 1)))
    log.take(app)
    receiving = meta(FINANCE, D(YEAR, 5, 20), voucher_no="PT-0001")
    app.receive_recovery(recovery, receiving)
    line.recover(app.id, recovery, RECOVERY, receiving)
    log.take(app, line)
    app.record_acceptance(acceptance("passed", {"management_systems": 1}), meta(on=D(YEAR, 9, 1)))
    log.take(app)
    settling = meta(on=D(YEAR, 10, 1))
    released = app.settle(None, settling)
    line.release(app.id, released, settling)
    log.take(app, line)
    return app
