"""A user renamed, then moved to another department, between the events of an application:
what the audit trail, its files and the application's history must show for each event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from ledger import commands as c
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import YEAR, Scenario, funding

OLD_NAME = "Nguyễn Văn An"
NEW_NAME = "Nguyễn Văn An Khang"
OLD_DEPARTMENT = "SKHCN"
NEW_DEPARTMENT = "SCT"


@dataclass
class Renamed:
    """The officer submits an application as Nguyễn Văn An of SKHCN; an admin renames them;
    they appraise it under the new name; an admin moves them to SCT; after the approval they
    sign its contract as Nguyễn Văn An Khang of SCT."""

    ledger: Ledger
    people: People
    #: called after each step (a test catches its read models up there, say)
    between: Callable[[], object] = lambda: None
    application_id: UUID | None = None
    renamed_at: int = 0
    moved_at: int = 0
    #: position → (name, department) of the officer's events, as each must be shown
    expected: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def officer_id(self) -> str:
        return self.people.officer.user_id

    def build(self) -> Renamed:
        ledger, people = self.ledger, self.people
        scenario = Scenario(ledger, people)
        scenario.budget()
        before = ledger.position()
        app_id = self.application_id = scenario.submitted()
        self._expect(before, OLD_NAME, OLD_DEPARTMENT)
        self.between()

        self.renamed_at = self._change(name=NEW_NAME, reason="Đổi tên theo quyết định")
        officer = ledger.authenticate(people.tokens["officer"])
        assert (officer.name, officer.department) == (NEW_NAME, OLD_DEPARTMENT)
        before = ledger.position()
        ledger.appraise_application(
            c.AppraiseApplication(
                application_id=app_id,
                appraised_on=dt.date(YEAR, 2, 15),
                recommended=funding(60_000_000, 40_000_000),
                note="Đủ điều kiện",
            ),
            officer,
        )
        self._expect(before, NEW_NAME, OLD_DEPARTMENT)
        self.between()

        self.moved_at = self._change(department=NEW_DEPARTMENT, reason="Điều chuyển công tác")
        officer = ledger.authenticate(people.tokens["officer"])
        assert (officer.name, officer.department) == (NEW_NAME, NEW_DEPARTMENT)
        scenario.approve(app_id, 60_000_000, 40_000_000)
        before = ledger.position()
        ledger.sign_contract(
            c.SignContract(
                application_id=app_id, contract_no="HĐ-ĐỔI-TÊN-1", signed_on=dt.date(YEAR, 3, 10)
            ),
            officer,
        )
        self._expect(before, NEW_NAME, NEW_DEPARTMENT)
        self.between()
        return self

    def _change(self, reason: str, name: str | None = None, department: str | None = None) -> int:
        change = c.ChangeUser(
            user_id=UUID(self.officer_id), reason=reason, name=name, department=department
        )
        return self.ledger.change_user(change, self.people.admin).position

    def _expect(self, before: int, name: str, department: str) -> None:
        """The officer's events after ``before``, up to the head, show ``name``, ``department``."""
        for position in range(before + 1, self.ledger.position() + 1):
            self.expected[position] = (name, department)
