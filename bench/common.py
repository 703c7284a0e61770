"""Shared set-up for the benchmarks: fresh, migrated databases on each backend.

PostgreSQL is reached at ``LEDGER_BENCH_PG_URL`` (default: the local server, user postgres);
each run creates and drops its own database. SQLite uses a file in a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import migrations
from ledger import commands as c
from ledger import settings
from ledger.access import SYSTEM, Actor
from ledger.service import Ledger, Written

ROOT = Path(__file__).resolve().parents[1]


def measure_in_child(module: str, kind: str, url: str, *options: str) -> dict[str, Any]:
    """Run ``python -m <module> --measure <kind> --url <url> [options]`` in a new process
    (so its peak memory is its own) and read the JSON object it prints last."""
    command = [sys.executable, "-m", module, "--measure", kind, "--url", url, *options]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


PG_ADMIN_URL = settings.BENCH_PG_URL.get()


@contextmanager
def fresh_database(backend: str, name: str = "nscl_bench") -> Iterator[str]:
    """Yield the URL of a new, migrated database; drop it afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
            migrations.upgrade(url)
            yield url
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rate(count: int, run: Callable[[], None]) -> float:
    """Operations per second of ``run`` (which performs ``count`` operations)."""
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


class CommandCycle:
    """The application lifecycle as a steady stream of domain commands, for benchmarks.

    Set-up: three SKHCN officers (submitter, appraiser, approver), a finance officer, a
    city-budget line with room for everything and one enterprise. Each :meth:`step` runs the
    next command of the cycle — submit, appraise, approve, sign the contract, pay — through
    the application service; ``length`` keeps only the first steps of it.
    """

    STEPS = ("submit", "appraise", "approve", "contract", "pay")

    def __init__(self, ledger: Ledger, year: int, label: str, length: int = 5) -> None:
        self.ledger, self.year, self.label, self.length = ledger, year, label, length
        self.officer = self._person("Cán bộ tiếp nhận", "officer", "SKHCN")
        self.appraiser = self._person("Cán bộ thẩm định", "officer", "SKHCN")
        self.approver = self._person("Lãnh đạo phòng", "officer", "SKHCN")
        finance = self._person("Cán bộ tài chính", "finance", "STC")
        ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project="DA2",
                source="city_budget",
                amount=10**13,
                decision_no=f"QĐ-{label}",
                decided_on=dt.date(year, 1, 5),
            ),
            finance,
        )
        self.enterprise = ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code="0100000001",
                name=f"Công ty {label}",
                district="QH-HOANKIEM",
                sector="industry",
                size="small",
            ),
            self.officer,
        ).id
        self.funding = c.Funding(city_budget=30_000_000, enterprise=30_000_000, other=0)
        self.count = 0
        self.application: UUID | None = None

    def _person(self, name: str, role: str, department: str) -> Actor:
        command = c.GrantAccess(name=name, role=role, department=department)
        return self.ledger.authenticate(self.ledger.grant_access(command, SYSTEM).token)

    def step(self) -> Written:
        """Run the next command of the cycle; return what it wrote."""
        i, step = divmod(self.count, self.length)
        self.count += 1
        ledger, year, tag = self.ledger, self.year, f"{self.label}-{i}"
        if step == 0:
            written = ledger.submit_application(
                c.SubmitApplication(
                    enterprise_id=self.enterprise,
                    dossier_no=f"HS-{tag}",
                    project="DA2",
                    support_type="iso_9001",
                    title="ISO 9001",
                    total_cost=60_000_000,
                    requested=self.funding,
                    submitted_on=dt.date(year, 2, 1),
                ),
                self.officer,
            )
            self.application = written.id
            return written
        app_id = self.application
        assert app_id is not None
        if step == 1:
            return ledger.appraise_application(
                c.AppraiseApplication(
                    application_id=app_id,
                    appraised_on=dt.date(year, 2, 10),
                    recommended=self.funding,
                ),
                self.appraiser,
            )
        if step == 2:
            return ledger.approve_application(
                c.ApproveApplication(
                    application_id=app_id,
                    decision_no=f"QĐ-{tag}",
                    decided_on=dt.date(year, 3, 1),
                    budget_year=year,
                    approved=self.funding,
                ),
                self.approver,
            )
        if step == 3:
            return ledger.sign_contract(
                c.SignContract(
                    application_id=app_id, contract_no=f"HĐ-{tag}", signed_on=dt.date(year, 3, 5)
                ),
                self.officer,
            )
        return ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app_id,
                paid_on=dt.date(year, 3, 10),
                amount=30_000_000,
                voucher_no=f"PC-{tag}",
                kind="payment",
            ),
            self.officer,
        )
