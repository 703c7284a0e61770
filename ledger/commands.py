"""Commands: frozen pydantic models, one per thing a user can ask the ledger to do.

A command is named VerbNoun; the application-service method that carries it out has the same
name in snake_case (``ApproveApplication`` → ``Ledger.approve_application``). Validation here
is about the shape of the input (types, codes, ranges); rules that need the ledger's state
(invariants 1–5 and 8 of DESIGN.md) are checked by the aggregates before anything is written.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from ledger import catalogue

#: Money is an integer number of đồng. Anything above this is a typing mistake, not a grant.
MAX_MONEY = 10**14
FIRST_DATE = dt.date(2010, 1, 1)
FIRST_BUDGET_YEAR = 2010
LAST_BUDGET_YEAR = 2030
TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")  # ASCII digits only


def today() -> dt.date:
    """Today in UTC: no effective date may be later."""
    return dt.datetime.now(dt.UTC).date()


def _effective_date(value: dt.date) -> dt.date:
    if value < FIRST_DATE:
        raise ValueError(f"date {value.isoformat()} is before the program began (2010)")
    if value > today():
        raise ValueError(f"date {value.isoformat()} is in the future")
    return value


def _member(kind: str, codes: object) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codes:  # type: ignore[operator]
            raise ValueError(f"unknown {kind} code {value!r}")
        return value

    return AfterValidator(check)


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000: no record in the database could keep such text.
    if "\x00" in value:
        raise ValueError("the NUL character (U+0000) is not allowed in text")
    return value


def _tax_code(value: str) -> str:
    if not TAX_CODE.fullmatch(value):
        raise ValueError("a tax code is 10 digits, or 10 digits, '-' and 3 digits for a branch")
    return value


Money = Annotated[int, Field(gt=0, le=MAX_MONEY, description="đồng, a positive integer")]
Share = Annotated[int, Field(ge=0, le=MAX_MONEY, description="đồng, zero or more")]
EffectiveDate = Annotated[dt.date, AfterValidator(_effective_date)]


def _iso_date(value: object) -> object:
    """A date as YYYY-MM-DD only (not a number of seconds, as pydantic would also take)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("give a date as YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("give a date as YYYY-MM-DD")
    return value


#: a date filter of a query: YYYY-MM-DD
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
BudgetYear = Annotated[int, Field(ge=FIRST_BUDGET_YEAR, le=LAST_BUDGET_YEAR)]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_no_nul),
]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_no_nul),
]
ProjectCode = Annotated[str, _member("project", catalogue.PROJECTS)]
SourceCode = Annotated[str, _member("funding source", catalogue.SOURCES)]
SupportTypeCode = Annotated[str, _member("support type", catalogue.SUPPORT_TYPES)]
DepartmentCode = Annotated[str, _member("department", catalogue.DEPARTMENTS)]
DistrictCode = Annotated[str, _member("district", catalogue.DISTRICTS)]
SectorCode = Annotated[str, _member("sector", catalogue.SECTORS)]
SizeCode = Annotated[str, _member("enterprise size", catalogue.SIZES)]
TargetCode = Annotated[str, _member("target", catalogue.TARGETS)]
ActivityKind = Annotated[str, _member("activity kind", catalogue.ACTIVITY_KINDS)]
RoleCode = Annotated[str, _member("role", catalogue.ROLES)]
TaxCode = Annotated[str, AfterValidator(_tax_code)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Funding(Model):
    """An amount per funding source (section IV.2.a of the decision)."""

    city_budget: Share
    enterprise: Share
    other: Share

    @property
    def total(self) -> int:
        return self.city_budget + self.enterprise + self.other

    def as_dict(self) -> dict[str, int]:
        return {"city_budget": self.city_budget, "enterprise": self.enterprise, "other": self.other}


class Command(Model):
    """Base of every command. ``command_id`` is written on every event the command makes."""

    command_id: UUID = Field(default_factory=uuid4)


# -- enterprises ---------------------------------------------------------------------------


class RegisterEnterprise(Command):
    tax_code: TaxCode
    name: Text
    district: DistrictCode
    sector: SectorCode
    size: SizeCode
    registered_on: EffectiveDate | None = Field(
        default=None, description="date of registration with the program; default today"
    )


class CorrectEnterprise(Command):
    enterprise_id: UUID
    corrected_on: EffectiveDate
    reason: Text
    name: Text | None = None
    district: DistrictCode | None = None
    sector: SectorCode | None = None
    size: SizeCode | None = None


# -- budget lines --------------------------------------------------------------------------


class AssignBudget(Command):
    budget_year: BudgetYear
    project: ProjectCode
    source: SourceCode
    amount: Money
    decision_no: Reference
    decided_on: EffectiveDate


# -- support applications --------------------------------------------------------------------


class SubmitApplication(Command):
    enterprise_id: UUID
    dossier_no: Reference
    project: ProjectCode
    support_type: SupportTypeCode
    title: Text
    total_cost: Money
    requested: Funding
    submitted_on: EffectiveDate


class ApplicationCommand(Command):
    application_id: UUID


class ReturnApplication(ApplicationCommand):
    returned_on: EffectiveDate
    reason: Text


class ResubmitApplication(ApplicationCommand):
    resubmitted_on: EffectiveDate
    note: Text | None = None


class AppraiseApplication(ApplicationCommand):
    appraised_on: EffectiveDate
    recommended: Funding
    note: Text | None = None


class ApproveApplication(ApplicationCommand):
    decision_no: Reference
    decided_on: EffectiveDate
    budget_year: BudgetYear
    approved: Funding


class RejectApplication(ApplicationCommand):
    decided_on: EffectiveDate
    reason: Text


class WithdrawApplication(ApplicationCommand):
    withdrawn_on: EffectiveDate
    reason: Text


class SignContract(ApplicationCommand):
    contract_no: Reference
    signed_on: EffectiveDate


class RecordDisbursement(ApplicationCommand):
    paid_on: EffectiveDate
    amount: Money
    voucher_no: Reference
    kind: Literal["advance", "payment"]


class ReverseDisbursement(ApplicationCommand):
    disbursement_id: UUID
    reversed_on: EffectiveDate
    reason: Text


class RecordAcceptance(ApplicationCommand):
    accepted_on: EffectiveDate
    result: Literal["passed", "failed"]
    outputs: dict[TargetCode, Annotated[int, Field(gt=0, le=10_000)]] = Field(default_factory=dict)


class SettleApplication(ApplicationCommand):
    settled_on: EffectiveDate
    note: Text | None = None


class CancelApplication(ApplicationCommand):
    cancelled_on: EffectiveDate
    reason: Text


class OrderRecovery(ApplicationCommand):
    ordered_on: EffectiveDate
    amount: Money
    reason: Text


class ReceiveRecovery(ApplicationCommand):
    recovery_id: UUID
    received_on: EffectiveDate
    voucher_no: Reference


# -- program activities ----------------------------------------------------------------------


class ApproveActivity(Command):
    department: DepartmentCode
    project: ProjectCode
    kind: ActivityKind
    title: Text
    budget_year: BudgetYear
    budget: Money
    decision_no: Reference
    approved_on: EffectiveDate


class RecordActivitySpending(Command):
    activity_id: UUID
    spent_on: EffectiveDate
    amount: Money
    voucher_no: Reference


class CompleteActivity(Command):
    activity_id: UUID
    completed_on: EffectiveDate
    report: Text


# -- users ----------------------------------------------------------------------------------


class GrantAccess(Command):
    name: Text
    role: RoleCode
    department: DepartmentCode


class RevokeAccess(Command):
    user_id: UUID
    reason: Text
