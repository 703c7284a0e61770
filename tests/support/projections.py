"""Support for the projection tests: fresh databases per example, every projection's
snapshot at once, and a driver that walks a small program through random *valid* commands.

The driver asks the ledger what state each record is in and offers only the steps that are
valid there, so a generated sequence never meets a refusal; hypothesis picks the step and its
amounts through ``draw``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from ledger import catalogue
from ledger import commands as c
from ledger.service import Ledger
from projections.projector import Projector
from projections.registry import PROJECTIONS
from tests.support.databases import PostgresDatabases
from tests.support.people import People

Snapshot = tuple[int, dict[str, list[dict[str, Any]]]]
Draw = Callable[[st.SearchStrategy[Any]], Any]
Step = tuple[str, Callable[[Draw], object]]

D = dt.date
MILLION = 1_000_000


# -- databases ----------------------------------------------------------------------------------


class FreshDatabases:
    """New, migrated, empty databases on one backend: one per hypothesis example (the
    ``database_url`` fixture gives one per test, not per example).

    Commits skip the wait for the disk (SQLite files in memory-backed ``/dev/shm`` when there
    is one; ``synchronous_commit = off`` on PostgreSQL): these tests kill clients, never the
    database server, and many small catch-up transactions would otherwise wait on fsync.
    PostgreSQL databases are dropped in the background while the next example runs;
    :meth:`close` waits for those drops.
    """

    def __init__(self, backend: str, request: pytest.FixtureRequest, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self.drops: list[threading.Thread] = []
        if backend == "sqlite":
            self.template: Path = request.getfixturevalue("sqlite_template")
        else:
            self.databases: PostgresDatabases = request.getfixturevalue("postgres_databases")

    @contextlib.contextmanager
    def new(self) -> Iterator[str]:
        if self.backend == "sqlite":
            memory = Path("/dev/shm")
            folder = Path(tempfile.mkdtemp(dir=memory if memory.is_dir() else self.directory))
            shutil.copyfile(self.template, folder / "ledger.db")
            try:
                yield f"sqlite:///{folder / 'ledger.db'}"
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return
        name, url = self.databases.create()
        with self.databases.engine.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        try:
            yield url
        finally:
            drop = threading.Thread(target=self.databases.drop, args=(name,), name=f"drop {name}")
            drop.start()
            self.drops.append(drop)

    def close(self) -> None:
        for drop in self.drops:
            drop.join()


@contextlib.contextmanager
def opened(url: str) -> Iterator[Ledger]:
    ledger = Ledger(url)
    try:
        yield ledger
    finally:
        ledger.engine.dispose()


# -- reading every projection -----------------------------------------------------------------


def names() -> list[str]:
    return [p.NAME for p in PROJECTIONS]


def snapshots(projector: Projector) -> dict[str, Snapshot]:
    """Every projection's rows and the position they reflect, keyed by projection name."""
    return {name: projector.snapshot(name) for name in names()}


def differences(left: dict[str, Snapshot], right: dict[str, Snapshot]) -> list[str]:
    """Where two sets of snapshots disagree, one line per table (empty when identical)."""
    found = []
    for name in sorted(set(left) | set(right)):
        if name not in left or name not in right:
            found.append(f"{name}: only on one side")
            continue
        (left_position, left_tables), (right_position, right_tables) = left[name], right[name]
        if left_position != right_position:
            found.append(f"{name}: position {left_position} != {right_position}")
        for table in sorted(set(left_tables) | set(right_tables)):
            a, b = left_tables.get(table), right_tables.get(table)
            if a != b:
                only_a = [r for r in a or [] if r not in (b or [])][:3]
                only_b = [r for r in b or [] if r not in (a or [])][:3]
                found.append(f"{name}.{table}: {only_a} != {only_b}")
    return found


# -- a program driven by valid random steps -------------------------------------------------

#: project -> (support type, its target)
KINDS = {
    "DA2": ("iso_9001", catalogue.SUPPORT_TYPES["iso_9001"].target),
    "DA1": ("base_standard", catalogue.SUPPORT_TYPES["base_standard"].target),
}
YEARS = (2015, 2016)


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def millions(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high).map(lambda n: n * MILLION)


@dataclass(repr=False)
class Program:
    """A few enterprises, applications and activities, changed only by valid commands."""

    ledger: Ledger
    people: People
    enterprises: list[UUID] = field(default_factory=list)
    applications: list[UUID] = field(default_factory=list)
    activities: list[UUID] = field(default_factory=list)

    budgets: int = 0
    corrections: int = 0
    _rooms: dict[tuple[int, str], int] | None = None

    max_enterprises = 2
    max_applications = 2
    max_activities = 1
    max_budgets = 4  # the two lines of the opening, and two more assignments
    max_corrections = 1
    #: steps that end a record early (or send it back) are as likely as adding a record;
    #: every other step moving a record along is this many times likelier, so that random
    #: sequences reach payments, reversals, recoveries and settlement
    FORWARD_WEIGHT = 8
    DETOURS = ("return ", "reject ", "withdraw ", "cancel ", "complete activity ", "spend on ")

    def open_year(self, draw: Draw) -> None:
        """The program's opening: a city-budget line for every project in the first year."""
        for project in sorted(KINDS):
            self.assign_budget(draw, YEARS[0], project, "city_budget")
        self._rooms = None

    @staticmethod
    def kind(label: str) -> str:
        """What a step does, without the record it does it to ("pay application")."""
        return re.sub(r" (HS-\S+ \(\w+\)|[0-9a-f-]{36})$", "", label)

    def step(self, draw: Draw) -> str:
        """Take one step, chosen among those valid now; return its label."""
        adding, moving = self.valid_steps()
        steps = dict(adding + moving)
        choices = [name for name, _ in adding]
        for name, _ in moving:
            choices += [name] * (1 if name.startswith(self.DETOURS) else self.FORWARD_WEIGHT)
        label: str = draw(st.sampled_from(choices))
        steps[label](draw)
        self._rooms = None  # the step may have changed what the lines have left
        return label

    # -- which steps are valid now

    def valid_steps(self) -> tuple[list[Step], list[Step]]:
        """The steps valid now: those that add a record (a budget, an enterprise, an
        application, an activity) and those that move an existing record along."""
        adding: list[Step] = []
        if self.budgets < self.max_budgets:
            adding.append(("assign a budget", self.assign_budget))
        if len(self.enterprises) < self.max_enterprises:
            adding.append(("register an enterprise", self.register))
        if self.enterprises and self.corrections < self.max_corrections:
            adding.append(("correct an enterprise", self.correct))
        if self.enterprises and len(self.applications) < self.max_applications:
            adding.append(("submit an application", self.submit))
        # (once every application is closed, the cap is lifted below)
        if len(self.activities) < self.max_activities and self.roomiest_line()[1] >= MILLION:
            adding.append(("approve an activity", self.approve_activity))
        moving: list[Step] = []
        for app_id in self.applications:
            moving += self.application_steps(app_id, self.ledger.get_application(app_id))
        for activity_id in self.activities:
            activity = self.ledger.get_activity(activity_id)
            if activity["status"] == "approved":
                moving.append((f"complete activity {activity_id}", self.complete(activity_id)))
                if activity["spent"] < activity["budget"]:
                    moving.append((f"spend on activity {activity_id}", self.spend(activity)))
        if not moving and self.enterprises and len(self.applications) >= self.max_applications:
            adding.append(("submit an application", self.submit))  # every one is closed
        if not adding and not moving:
            adding.append(("register an enterprise", self.register))
        return adding, moving

    def application_steps(self, app_id: UUID, app: dict[str, Any]) -> list[Step]:
        status = app["status"]
        on = f"application {app['dossier_no']} ({status})"
        steps: list[Step] = []
        if status in ("submitted", "appraised"):
            steps.append((f"return {on}", self.simple(app_id, self.send_back)))
        if status == "returned":
            steps.append((f"resubmit {on}", self.simple(app_id, self.resubmit)))
        if status == "submitted":
            steps.append((f"appraise {on}", self.appraise(app)))
        if status in ("submitted", "returned", "appraised"):
            steps.append((f"reject {on}", self.simple(app_id, self.reject)))
            steps.append((f"withdraw {on}", self.simple(app_id, self.withdraw)))
        if status == "appraised" and self.approvable(app):
            steps.append((f"approve {on}", self.approve(app)))
        if status == "approved":
            steps.append((f"sign a contract for {on}", self.simple(app_id, self.sign)))
        if status in ("approved", "contracted", "acceptance_failed"):
            steps.append((f"cancel {on}", self.simple(app_id, self.cancel)))
        if status == "contracted":
            steps.append((f"record the acceptance of {on}", self.accept(app)))
        if status == "accepted":
            steps.append((f"settle {on}", self.simple(app_id, self.settle)))
        room = (app["approved"] or {}).get("city_budget", 0) - (app["disbursed"] - app["recovered"])
        if status in ("contracted", "accepted") and room > 0:
            steps.append((f"pay {on}", self.pay(app_id, room)))
        if status in ("contracted", "accepted", "acceptance_failed", "cancelled"):
            reversible = [
                d
                for d in app["disbursements"]
                if not d["reversed"] and app["disbursed"] - d["amount"] >= app["recovery_ordered"]
            ]
            if reversible:
                steps.append((f"reverse a payment of {on}", self.reverse(app_id, reversible)))
        if status in ("contracted", "accepted", "acceptance_failed", "settled", "cancelled"):
            recoverable = app["disbursed"] - app["recovery_ordered"]
            if recoverable > 0:
                steps.append((f"order a recovery for {on}", self.order(app_id, recoverable)))
            open_orders = [r for r in app["recoveries"] if not r["received"]]
            if open_orders:
                steps.append((f"receive a recovery for {on}", self.receive(app_id, open_orders)))
        return steps

    def rooms(self) -> dict[tuple[int, str], int]:
        """What each city-budget line of the default channel (the one approvals and activities
        draw on here) still has uncommitted (0 if none); read once per step, when a step needs
        it."""
        if self._rooms is None:
            self._rooms = dict.fromkeys(((y, p) for y in YEARS for p in KINDS), 0)
            for line in self.ledger.get_budget_lines(channel="science_recurrent"):
                self._rooms[line["budget_year"], line["project"]] = line["available"]
        return self._rooms

    def roomiest_line(self) -> tuple[tuple[int, str], int]:
        rooms = self.rooms()
        best = max(rooms, key=lambda k: rooms[k])
        return best, rooms[best]

    def approvable(self, app: dict[str, Any]) -> bool:
        requested = app["requested"]
        own_share = requested["enterprise"] + requested["other"]
        return own_share > 0 or any(self.rooms()[y, app["project"]] > 0 for y in YEARS)

    # -- the steps (through the application service, as users would)

    def assign_budget(
        self,
        draw: Draw,
        year: int | None = None,
        project: str | None = None,
        source: str | None = None,
    ) -> None:
        """Assign a line (or adjust it, if it was assigned before)."""
        self.budgets += 1
        year = year or draw(st.sampled_from(YEARS))
        project = project or draw(st.sampled_from(sorted(KINDS)))
        # the city budget only (counterpart money is no line), on any channel, mostly the default
        channels = ["science_recurrent", "science_recurrent", "science_fund", "investment"]
        channel = draw(st.sampled_from(channels))
        self.ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project=project,
                source=source or "city_budget",
                channel=channel,
                amount=draw(millions(50, 400)),
                decision_no=ref("QĐ"),
                decided_on=D(year, 1, 5),
            ),
            self.people.finance,
        )

    def register(self, draw: Draw) -> None:
        written = self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=f"{uuid.uuid4().int % 10**10:010d}",
                name="Công ty TNHH Minh Phát",
                district=draw(st.sampled_from(["QH-CAUGIAY", "QH-BADINH"])),
                sector="industry",
                size=draw(st.sampled_from(["small", "medium"])),
                registered_on=D(2015, 1, 10),
            ),
            self.people.officer,
        )
        self.enterprises.append(written.id)

    def correct(self, draw: Draw) -> None:
        self.corrections += 1
        self.ledger.correct_enterprise(
            c.CorrectEnterprise(
                enterprise_id=draw(st.sampled_from(self.enterprises)),
                corrected_on=D(2015, 1, 20),
                reason="Đổi tên theo đăng ký kinh doanh",
                name=f"Công ty CP {uuid.uuid4().hex[:6]}",
            ),
            self.people.officer,
        )

    def submit(self, draw: Draw) -> None:
        project = draw(st.sampled_from(sorted(KINDS)))
        requested = c.Funding(
            city_budget=draw(millions(10, 80)),
            enterprise=draw(millions(0, 40)),
            other=draw(millions(0, 10)),
        )
        written = self.ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=draw(st.sampled_from(self.enterprises)),
                dossier_no=ref("HS"),
                project=project,
                support_type=KINDS[project][0],
                title="Áp dụng hệ thống quản lý",
                total_cost=requested.total,
                requested=requested,
                submitted_on=D(draw(st.sampled_from(YEARS)), 2, 1),
            ),
            draw(st.sampled_from([self.people.officer, self.people.district_officer])),
        )
        self.applications.append(written.id)

    def simple(self, app_id: UUID, run: Callable[[UUID], object]) -> Callable[[Draw], object]:
        return lambda draw: run(app_id)

    def send_back(self, app_id: UUID) -> None:
        self.ledger.return_application(
            c.ReturnApplication(application_id=app_id, returned_on=D(2015, 2, 5), reason="Thiếu"),
            self.people.officer,
        )

    def resubmit(self, app_id: UUID) -> None:
        self.ledger.resubmit_application(
            c.ResubmitApplication(application_id=app_id, resubmitted_on=D(2015, 2, 10)),
            self.people.officer,
        )

    def appraise(self, app: dict[str, Any]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            requested = app["requested"]
            recommended = c.Funding(
                city_budget=draw(st.integers(1, requested["city_budget"])),
                enterprise=requested["enterprise"],
                other=requested["other"],
            )
            self.ledger.appraise_application(
                c.AppraiseApplication(
                    application_id=UUID(app["id"]),
                    appraised_on=D(2015, 2, 15),
                    recommended=recommended,
                    note="Đủ điều kiện",
                ),
                self.people.appraiser,
            )

        return run

    def approve(self, app: dict[str, Any]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            requested, project = app["requested"], app["project"]
            rooms = {y: room for (y, p), room in self.rooms().items() if p == project}
            with_room = [y for y in YEARS if rooms[y] > 0]
            year = draw(st.sampled_from(with_room or YEARS))
            most = min(requested["city_budget"], rooms[year])
            city = draw(st.one_of(st.just(most), st.integers(0, most)))
            enterprise = draw(st.integers(0, requested["enterprise"]))
            other = requested["other"]
            if city + enterprise + other == 0:  # an approval is never zero
                enterprise = requested["enterprise"]
                city = city if enterprise else most
            self.ledger.approve_application(
                c.ApproveApplication(
                    application_id=UUID(app["id"]),
                    decision_no=ref("QĐ"),
                    decided_on=D(year, 3, 1),
                    budget_year=year,
                    approved=c.Funding(city_budget=city, enterprise=enterprise, other=other),
                ),
                self.people.approver,
            )

        return run

    def reject(self, app_id: UUID) -> None:
        self.ledger.reject_application(
            c.RejectApplication(application_id=app_id, decided_on=D(2015, 3, 1), reason="Không"),
            self.people.officer,
        )

    def withdraw(self, app_id: UUID) -> None:
        self.ledger.withdraw_application(
            c.WithdrawApplication(application_id=app_id, withdrawn_on=D(2015, 2, 20), reason="Rút"),
            self.people.officer,
        )

    def sign(self, app_id: UUID) -> None:
        self.ledger.sign_contract(
            c.SignContract(application_id=app_id, contract_no=ref("HĐ"), signed_on=D(2015, 3, 10)),
            self.people.officer,
        )

    def cancel(self, app_id: UUID) -> None:
        self.ledger.cancel_application(
            c.CancelApplication(application_id=app_id, cancelled_on=D(2015, 6, 1), reason="Dừng"),
            self.people.officer,
        )

    def settle(self, app_id: UUID) -> None:
        self.ledger.settle_application(
            c.SettleApplication(application_id=app_id, settled_on=D(2015, 10, 1)),
            self.people.officer,
        )

    def accept(self, app: dict[str, Any]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            result = draw(st.sampled_from(["passed", "passed", "failed"]))
            target = KINDS[app["project"]][1]
            outputs = {}
            if result == "passed" and target is not None and draw(st.booleans()):
                outputs = {target: draw(st.integers(1, 3))}
            self.ledger.record_acceptance(
                c.RecordAcceptance(
                    application_id=UUID(app["id"]),
                    accepted_on=D(2015, 9, 1),
                    result=result,
                    outputs=outputs,
                ),
                self.people.officer,
            )

        return run

    def pay(self, app_id: UUID, room: int) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            self.ledger.record_disbursement(
                c.RecordDisbursement(
                    application_id=app_id,
                    paid_on=D(2015, 4, 1),
                    amount=draw(st.integers(1, room)),
                    voucher_no=ref("PC"),
                    kind=draw(st.sampled_from(["advance", "payment"])),
                ),
                self.people.officer,
            )

        return run

    def reverse(self, app_id: UUID, payments: list[dict[str, Any]]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            payment = draw(st.sampled_from(payments))
            self.ledger.reverse_disbursement(
                c.ReverseDisbursement(
                    application_id=app_id,
                    disbursement_id=UUID(payment["id"]),
                    reversed_on=D(2015, 4, 10),
                    reason="Chi sai",
                ),
                self.people.officer,
            )

        return run

    def order(self, app_id: UUID, recoverable: int) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            self.ledger.order_recovery(
                c.OrderRecovery(
                    application_id=app_id,
                    ordered_on=D(2015, 11, 1),
                    amount=draw(st.integers(1, recoverable)),
                    reason="Chi vượt định mức",
                ),
                self.people.finance,
            )

        return run

    def receive(self, app_id: UUID, orders: list[dict[str, Any]]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            order = draw(st.sampled_from(orders))
            self.ledger.receive_recovery(
                c.ReceiveRecovery(
                    application_id=app_id,
                    recovery_id=UUID(order["id"]),
                    received_on=D(2015, 11, 20),
                    voucher_no=ref("PT"),
                ),
                self.people.finance,
            )

        return run

    def approve_activity(self, draw: Draw) -> None:
        (year, project), room = self.roomiest_line()
        written = self.ledger.approve_activity(
            c.ApproveActivity(
                department=draw(st.sampled_from(["SKHCN", "SCT"])),
                project=project,
                kind=draw(st.sampled_from(["training", "communication"])),
                title="Tập huấn năng suất chất lượng",
                budget_year=year,
                budget=draw(st.integers(1, min(room // MILLION, 30))) * MILLION,
                decision_no=ref("QĐ"),
                approved_on=D(year, 1, 20),
            ),
            self.people.officer,
        )
        self.activities.append(written.id)

    def spend(self, activity: dict[str, Any]) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            self.ledger.record_activity_spending(
                c.RecordActivitySpending(
                    activity_id=UUID(activity["id"]),
                    spent_on=D(2015, 5, 1),
                    amount=draw(st.integers(1, activity["budget"] - activity["spent"])),
                    voucher_no=ref("PC"),
                ),
                self.people.officer,
            )

        return run

    def complete(self, activity_id: UUID) -> Callable[[Draw], object]:
        def run(draw: Draw) -> None:
            self.ledger.complete_activity(
                c.CompleteActivity(
                    activity_id=activity_id, completed_on=D(2015, 12, 1), report="Đã tập huấn"
                ),
                self.people.officer,
            )

        return run
