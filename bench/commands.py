"""Single-writer domain commands per second, beside the raw library baseline.

Baseline (same engine, same events table, same run): an eventsourcing ``Aggregate`` with one
event — get + trigger + save — as plain library calls, each time on another such aggregate.
Domain: full cycles of the ledger's
commands through the application service — submit, appraise, approve (commits the city-budget
line), sign contract, pay (disburses from the line) — i.e. five commands a cycle, each with
its invariant checks, natural-key claims and one transaction.

Run: ``.venv/bin/python -m bench.commands [--cycles 300] [--backend sqlite|postgresql|both]``.
Figures on a shared 2-core machine are noisy; compare the ratio, which is measured in one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import uuid
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.common import fresh_database, rate
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.persistence import event_store_env
from ledger.service import Ledger

YEAR = 2015
COMMANDS_PER_CYCLE = 5


class Counter(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class RawLibrary(Application[uuid.UUID]):
    """The library alone on the same table: the baseline."""

    name = "Ledger"


def baseline(url: str, operations: int) -> float:
    """get + trigger + save of an aggregate that has one event, ``operations`` times."""
    app = RawLibrary(env=event_store_env(url))
    counters = [Counter() for _ in range(operations)]
    for start in range(0, operations, 500):
        app.save(*counters[start : start + 500])
    ids = [counter.id for counter in counters]

    def run() -> None:
        for aggregate_id in ids:
            counter: Any = app.repository.get(aggregate_id)
            counter.increment()
            app.save(counter)

    result = rate(operations, run)
    app.recorder.datastore.engine.dispose()  # type: ignore[attr-defined]
    return result


def domain(url: str, cycles: int) -> float:
    ledger = Ledger(url)

    def person(name: str, role: str, department: str) -> Any:
        granted = ledger.grant_access(
            c.GrantAccess(name=name, role=role, department=department), SYSTEM
        )
        return ledger.authenticate(granted.token)

    officer = person("Cán bộ 1", "officer", "SKHCN")
    appraiser = person("Cán bộ 2", "officer", "SKHCN")
    approver = person("Cán bộ 3", "officer", "SKHCN")
    finance = person("Tài chính", "finance", "STC")
    ledger.assign_budget(
        c.AssignBudget(
            budget_year=YEAR, project="DA2", source="city_budget", amount=10**13,
            decision_no="QĐ-BENCH", decided_on=dt.date(YEAR, 1, 5),
        ),
        finance,
    )  # fmt: skip
    enterprise = ledger.register_enterprise(
        c.RegisterEnterprise(
            tax_code="0100000001", name="Công ty Bench", district="QH-HOANKIEM",
            sector="industry", size="small",
        ),
        officer,
    ).id  # fmt: skip
    funding = c.Funding(city_budget=30_000_000, enterprise=30_000_000, other=0)

    def cycle(i: int) -> None:
        app_id = ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=enterprise, dossier_no=f"HS-{i}", project="DA2",
                support_type="iso_9001", title="ISO 9001", total_cost=60_000_000,
                requested=funding, submitted_on=dt.date(YEAR, 2, 1),
            ),
            officer,
        ).id  # fmt: skip
        ledger.appraise_application(
            c.AppraiseApplication(
                application_id=app_id, appraised_on=dt.date(YEAR, 2, 10), recommended=funding
            ),
            appraiser,
        )
        ledger.approve_application(
            c.ApproveApplication(
                application_id=app_id, decision_no=f"QĐ-{i}", decided_on=dt.date(YEAR, 3, 1),
                budget_year=YEAR, approved=funding,
            ),
            approver,
        )  # fmt: skip
        ledger.sign_contract(
            c.SignContract(application_id=app_id, contract_no=f"HĐ-{i}",
                           signed_on=dt.date(YEAR, 3, 5)),
            officer,
        )  # fmt: skip
        ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app_id, paid_on=dt.date(YEAR, 3, 10), amount=30_000_000,
                voucher_no=f"PC-{i}", kind="payment",
            ),
            officer,
        )  # fmt: skip

    cycle(-1)  # warm up

    def run() -> None:
        for i in range(cycles):
            cycle(i)

    result = rate(cycles * COMMANDS_PER_CYCLE, run)
    ledger.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    print(f"{'backend':<11} {'baseline ops/s':>15} {'domain cmds/s':>14} {'ratio':>6}")
    for backend in backends:
        ratios, bases, domains = [], [], []
        for _ in range(args.rounds):
            with fresh_database(backend) as url:
                base = baseline(url, args.cycles * COMMANDS_PER_CYCLE)
                dom = domain(url, args.cycles)
            bases.append(base)
            domains.append(dom)
            ratios.append(dom / base)
        print(
            f"{backend:<11} {statistics.median(bases):>15.0f} {statistics.median(domains):>14.0f}"
            f" {statistics.median(ratios):>6.2f}"
        )


if __name__ == "__main__":
    main()
