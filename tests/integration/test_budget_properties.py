"""Random sequences of budget commands keep every line's balance non-negative and conserve
money through a year close (hypothesis, on both databases).

Each example runs on a fresh database: assignments, increases and reductions of two channels'
lines, approvals, payments, reversals and cancellations in 2016, a close of 2016 somewhere in
the sequence, then the same kinds of commands in 2017. Refusals are part of the game: a
refused command must write nothing, so the figures are compared with a model of the money
kept beside the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import commands as c
from ledger.errors import LedgerError
from ledger.service import Ledger
from tests.support.people import grant_people
from tests.support.scenario import tax_code

M = 1_000_000
CHANNELS = ("science_recurrent", "science_fund")

step = st.one_of(
    st.tuples(st.just("assign"), st.sampled_from(CHANNELS), st.integers(1, 300)),
    st.tuples(st.just("reduce"), st.sampled_from(CHANNELS), st.integers(1, 300)),
    st.tuples(st.just("approve"), st.sampled_from(CHANNELS), st.integers(1, 200)),
    st.tuples(st.just("pay"), st.integers(0, 7), st.integers(1, 120)),
    st.tuples(st.just("reverse"), st.integers(0, 7), st.just(0)),
    st.tuples(st.just("cancel"), st.integers(0, 7), st.just(0)),
    st.tuples(st.just("close"), st.just(""), st.just(0)),
)


def _check_lines(ledger: Ledger, closed: bool) -> None:
    lines = ledger.get_budget_lines()
    for line in lines:
        paid = line["disbursed"] - line["recovered"]
        assert line["available"] >= 0, line
        assert line["committed"] >= paid >= 0, line
        assert line["assigned"] >= 0, line
        if closed and line["budget_year"] == 2016:
            assert line["assigned"] + line["carried_in"] == line["committed"] + line["cancelled"]
            assert line["committed"] == paid + line["carried_out"], line
            assert line["available"] == 0
    out = {
        (x["project"], x["channel"]): x["carried_out"] for x in lines if x["budget_year"] == 2016
    }
    came = {
        (x["project"], x["channel"]): x["carried_in"] for x in lines if x["budget_year"] == 2017
    }
    for key, amount in out.items():
        assert came.get(key, 0) == amount, (key, amount, came)


def _run(ledger: Ledger, steps: list[tuple[str, Any, int]]) -> None:
    people = grant_people(ledger)
    apps: list[UUID] = []
    payments: dict[UUID, list[UUID]] = {}
    year, closed = 2016, False

    def attempt(method: Callable[[Any, Any], Any], command: c.Command, actor: Any) -> Any:
        """Run a command; a refusal is part of the game (and must write nothing)."""
        try:
            return method(command, actor)
        except LedgerError:
            return None

    for n, (kind, what, amount) in enumerate(steps):
        day = dt.date(year, 1 + n % 11, 1 + n % 27)
        if kind == "assign":
            attempt(
                ledger.assign_budget,
                c.AssignBudget(
                    budget_year=year,
                    project="DA2",
                    source="city_budget",
                    channel=what,
                    amount=amount * M,
                    decision_no=f"QĐ-{n}",
                    decided_on=day,
                ),
                people.finance,
            )
        elif kind == "reduce":
            attempt(
                ledger.reduce_budget,
                c.ReduceBudget(
                    budget_year=year,
                    project="DA2",
                    source="city_budget",
                    channel=what,
                    amount=amount * M,
                    decision_no=f"QĐ-giảm-{n}",
                    decided_on=day,
                    reason="Điều chỉnh giảm",
                ),
                people.finance,
            )
        elif kind == "approve":
            split = c.Funding(city_budget=amount * M, enterprise=10 * M, other=0)
            enterprise = ledger.register_enterprise(
                c.RegisterEnterprise(
                    tax_code=tax_code(),
                    name=f"Công ty {n}",
                    district="QH-CAUGIAY",
                    sector="industry",
                    size="small",
                    registered_on=day,
                ),
                people.officer,
            ).id
            app = ledger.submit_application(
                c.SubmitApplication(
                    enterprise_id=enterprise,
                    dossier_no=f"HS-{tax_code()}",
                    project="DA2",
                    support_type="iso_9001",
                    title="ISO",
                    total_cost=split.total,
                    requested=split,
                    submitted_on=day,
                ),
                people.officer,
            ).id
            approved = attempt(
                ledger.approve_application,
                c.ApproveApplication(
                    application_id=app,
                    decision_no=f"QĐ-HS-{n}",
                    decided_on=day,
                    budget_year=year,
                    approved=split,
                    channel=what,
                ),
                people.approver,
            )
            if approved is not None:
                ledger.sign_contract(
                    c.SignContract(application_id=app, contract_no=f"HĐ-{n}", signed_on=day),
                    people.officer,
                )
                apps.append(app)
        elif kind in ("pay", "reverse", "cancel") and apps:
            app = apps[what % len(apps)]
            if kind == "pay":
                written = attempt(
                    ledger.record_disbursement,
                    c.RecordDisbursement(
                        application_id=app,
                        paid_on=day,
                        amount=amount * M,
                        voucher_no=f"UNC-{n}",
                        kind="advance",
                    ),
                    people.officer,
                )
                if written is not None:
                    payments.setdefault(app, []).append(written.id)
            elif kind == "reverse" and payments.get(app):
                attempt(
                    ledger.reverse_disbursement,
                    c.ReverseDisbursement(
                        application_id=app,
                        disbursement_id=payments[app].pop(),
                        reversed_on=day,
                        reason="Chi sai",
                    ),
                    people.officer,
                )
            elif kind == "cancel":
                attempt(
                    ledger.cancel_application,
                    c.CancelApplication(application_id=app, cancelled_on=day, reason="Hủy"),
                    people.officer,
                )
        elif kind == "close" and not closed:
            ledger.close_budget_year(
                c.CloseBudgetYear(budget_year=2016, closed_on=dt.date(2017, 1, 10)), people.finance
            )
            year, closed = 2017, True
        _check_lines(ledger, closed)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=4, max_size=24))
def test_random_budget_commands_keep_balances_and_conserve_money(
    another_database: Callable[[], str], steps: list[tuple[str, Any, int]]
) -> None:
    ledger = Ledger(another_database())
    try:
        _run(ledger, steps)
    finally:
        ledger.engine.dispose()
