"""Commands: frozen pydantic models, one per thing a user can ask the ledger to do.

A command is named VerbNoun; the application-service method that carries it out has the same
name in snake_case (``ApproveApplication`` → ``Ledger.approve_application``). Validation here
is about the shape of the input (types, codes, ranges); rules that need the ledger's state
(invariants 1–5 and 8 of ARCHITECTURE.md) are checked by the aggregates before anything is written.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
)
from pydantic_core import core_schema

from ledger import catalogue
from ledger.messages import Message, Terms

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
        raise ValueError(
            Message("date {date} is before the program began (2010)", date=value.isoformat())
        )
    if value > today():
        raise ValueError(Message("date {date} is in the future", date=value.isoformat()))
    return value


#: the kinds of code a command takes, as a refusal names them
CODE_KIND = Terms(
    "code kind",
    (
        "project",
        "funding source",
        "support type",
        "city-budget channel",
        "department",
        "district",
        "sector",
        "enterprise size",
        "target",
        "activity kind",
        "role",
    ),
)


def _member(kind: str, codes: object) -> AfterValidator:
    def check(value: str) -> str:
        if value not in codes:  # type: ignore[operator]
            raise ValueError(
                Message("unknown {kind} code {value!r}", kind=CODE_KIND(kind), value=value)
            )
        return value

    return AfterValidator(check)


def _tax_code(value: str) -> str:
    if not TAX_CODE.fullmatch(value):
        raise ValueError(
            Message("a tax code is 10 digits, or 10 digits, '-' and 3 digits for a branch")
        )
    return value


Money = Annotated[int, Field(gt=0, le=MAX_MONEY, description="đồng, a positive integer")]
Share = Annotated[int, Field(ge=0, le=MAX_MONEY, description="đồng, zero or more")]
EffectiveDate = Annotated[dt.date, AfterValidator(_effective_date)]


def _iso_date(value: object) -> object:
    """A date as YYYY-MM-DD only (not a number of seconds, as pydantic would also take)."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError(GIVE_A_DATE)
    if isinstance(value, int | float):
        raise ValueError(GIVE_A_DATE)
    return value


GIVE_A_DATE = Message("give a date as YYYY-MM-DD")

#: a date filter of a query: YYYY-MM-DD
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
BudgetYear = Annotated[int, Field(ge=FIRST_BUDGET_YEAR, le=LAST_BUDGET_YEAR)]


# -- text ------------------------------------------------------------------------------------

#: The Unicode general categories text may hold: letters (L*), marks (M*: Vietnamese tone
#: marks when typed decomposed), numbers (N*), punctuation (P*), symbols (S*: ₫, ©, …) and
#: space separators (Zs). Never a control (Cc: NUL, BEL, ESC, …), format (Cf: zero-width
#: spaces and joiners, direction marks, the BOM, the soft hyphen), surrogate (Cs), private-use
#: (Co) or unassigned (Cn, as of the Unicode version of Python's ``unicodedata``) character,
#: nor a line or paragraph separator (Zl, Zp).
TEXT_CATEGORIES = frozenset(
    {
        "Lu",
        "Ll",
        "Lt",
        "Lm",
        "Lo",
        "Mn",
        "Mc",
        "Me",
        "Nd",
        "Nl",
        "No",
        "Pc",
        "Pd",
        "Ps",
        "Pe",
        "Pi",
        "Pf",
        "Po",
        "Sm",
        "Sc",
        "Sk",
        "So",
        "Zs",
    }
)
#: what multi-line text (reasons, notes, reports) may also hold inside: line feeds and tabs
#: (a CR LF or a lone CR is made a line feed first)
MULTILINE_CONTROLS = frozenset("\n\t")
#: what is trimmed around text: Unicode's White_Space characters
BLANKS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
#: the categories of which text must hold at least one character: letters and numbers
VISIBLE_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No"})


def _character(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name:
        kinds = {"Cc": "a control character", "Cs": "a surrogate", "Co": "private use"}
        name = kinds.get(unicodedata.category(char), "not an assigned character")
    return f"U+{ord(char):04X} ({name})"


@dataclass(frozen=True, slots=True)
class TextRule:
    """What one kind of text may be: at most ``max_length`` characters in Unicode NFC,
    trimmed of the :data:`BLANKS` around it, then only characters of
    :data:`TEXT_CATEGORIES` (and :data:`MULTILINE_CONTROLS` if ``multiline``), at least one
    of them a letter or number (:data:`VISIBLE_CATEGORIES`).

    Used as ``Annotated[str, TextRule(…)]`` (the shared text types below); the OpenAPI
    document (``api/openapi.py``) writes the same rule as a pattern."""

    max_length: int
    multiline: bool = False

    def allows(self, char: str) -> bool:
        return unicodedata.category(char) in TEXT_CATEGORIES or (
            self.multiline and char in MULTILINE_CONTROLS
        )

    def normalise(self, value: object) -> object:
        """Before the length is counted: NFC (so that text typed decomposed counts, compares
        and is kept as composed text); a multi-line text's line ends made line feeds."""
        if not isinstance(value, str):
            return value  # refused as not a string
        if self.multiline:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return unicodedata.normalize("NFC", value)

    def check(self, value: str) -> str:
        """Trimmed: every character allowed, one at least a letter or number."""
        value = value.strip(BLANKS)
        for char in value:
            if not self.allows(char):
                what = (
                    Message(
                        "letters, marks, numbers, punctuation, symbols and spaces, line feeds "
                        "and tabs"
                    )
                    if self.multiline
                    else Message("letters, marks, numbers, punctuation, symbols and spaces")
                )
                raise ValueError(
                    Message(
                        "the character {character} is not allowed: text holds {what}",
                        character=_character(char),
                        what=what,
                    )
                )
        if not any(unicodedata.category(char) in VISIBLE_CATEGORIES for char in value):
            raise ValueError(Message("must hold at least one letter or number"))
        return value

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """A string (never anything else) of at most ``max_length`` characters once in
        NFC, then :meth:`check`."""
        string = core_schema.str_schema(max_length=self.max_length, strict=True)
        checked = core_schema.no_info_after_validator_function(self.check, string)
        return core_schema.no_info_before_validator_function(self.normalise, checked)


#: one line of text: names, titles
Line = Annotated[str, TextRule(500)]
#: text that may run over several lines: reasons, notes, reports
Paragraph = Annotated[str, TextRule(500, multiline=True)]
#: a document's number: decision, dossier, contract, voucher
Reference = Annotated[str, TextRule(64)]
ProjectCode = Annotated[str, _member("project", catalogue.PROJECTS)]
SourceCode = Annotated[str, _member("funding source", catalogue.SOURCES)]
SupportTypeCode = Annotated[str, _member("support type", catalogue.SUPPORT_TYPES)]
ChannelCode = Annotated[str, _member("city-budget channel", catalogue.CHANNELS)]
DepartmentCode = Annotated[str, _member("department", catalogue.DEPARTMENTS)]
DistrictCode = Annotated[str, _member("district", catalogue.DISTRICTS)]
SectorCode = Annotated[str, _member("sector", catalogue.SECTORS)]
SizeCode = Annotated[str, _member("enterprise size", catalogue.SIZES)]
TargetCode = Annotated[str, _member("target", catalogue.TARGETS)]
ActivityKind = Annotated[str, _member("activity kind", catalogue.ACTIVITY_KINDS)]
RoleCode = Annotated[str, _member("role", catalogue.ROLES)]
TaxCode = Annotated[str, AfterValidator(_tax_code)]


def _city_budget(value: str) -> str:
    if value != catalogue.CITY_BUDGET:
        raise ValueError(
            Message(
                "only the city budget ({city_budget!r}) is assigned as budget lines; "
                "enterprise and other money is counterpart funding, pledged in an approval's "
                "split",
                city_budget=catalogue.CITY_BUDGET,
            )
        )
    return value


#: the source of a budget line: the city budget alone
CityBudgetSource = Annotated[
    str, _member("funding source", catalogue.SOURCES), AfterValidator(_city_budget)
]
Percent = Annotated[int, Field(gt=0, le=100, description="a whole percentage, 1 to 100")]


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
    """Base of every command. ``command_id`` is written on every event the command makes.

    ``action`` names what the command does, once, from the class name in snake_case
    (``RegisterEnterprise`` → ``register_enterprise``): the service method that carries it
    out has that name, ``ledger.access.PERMISSIONS`` says by it who may, and the HTTP route
    table finds both by it. An intermediate base (a name ending in ``Command``) has none."""

    action: ClassVar[str]
    command_id: UUID = Field(default_factory=uuid4)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.__name__.endswith("Command"):
            cls.action = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


# -- enterprises ---------------------------------------------------------------------------


class RegisterEnterprise(Command):
    tax_code: TaxCode
    name: Line
    district: DistrictCode
    sector: SectorCode
    size: SizeCode
    registered_on: EffectiveDate | None = Field(
        default=None, description="date of registration with the program; default today"
    )


class CorrectEnterprise(Command):
    enterprise_id: UUID
    corrected_on: EffectiveDate
    reason: Paragraph
    name: Line | None = None
    district: DistrictCode | None = None
    sector: SectorCode | None = None
    size: SizeCode | None = None


# -- budget lines --------------------------------------------------------------------------


class AssignBudget(Command):
    budget_year: BudgetYear
    project: ProjectCode
    source: CityBudgetSource
    channel: ChannelCode = catalogue.DEFAULT_CHANNEL
    amount: Money
    decision_no: Reference
    decided_on: EffectiveDate


class ReduceBudget(Command):
    budget_year: BudgetYear
    project: ProjectCode
    source: CityBudgetSource
    channel: ChannelCode = catalogue.DEFAULT_CHANNEL
    amount: Money
    decision_no: Reference
    decided_on: EffectiveDate
    reason: Paragraph


class CloseBudgetYear(Command):
    """Close a budget year (khóa sổ): carry committed-but-unpaid money over to the next year,
    cancel the rest; from then on nothing may be dated in it."""

    budget_year: BudgetYear
    closed_on: EffectiveDate


class ReopenBudgetYear(Command):
    budget_year: BudgetYear
    reason: Paragraph


# -- support rules ---------------------------------------------------------------------------


class LegalBasis(Model):
    """The document that sets a support rule."""

    document_no: Reference
    signed_on: EffectiveDate


class AddSupportRule(Command):
    """A support rule (mức hỗ trợ): the most the city budget pays of one support type, as a
    share of the cost and as an amount, in force from a date (a later rule of the same type
    supersedes it from its own date)."""

    support_type: SupportTypeCode
    max_share_percent: Percent
    max_amount: Money
    legal_basis: LegalBasis
    effective_from: dt.date


# -- annual estimates --------------------------------------------------------------------------


class ReportNeeds(Command):
    """A department's reported needs for the estimate of ``budget_year`` (nhu cầu hỗ trợ)."""

    budget_year: BudgetYear
    project: ProjectCode
    support_type: SupportTypeCode
    enterprises: Annotated[int, Field(gt=0, le=100_000)]
    amount: Money
    note: Paragraph | None = None
    reported_on: EffectiveDate | None = Field(
        default=None, description="the date of the department's report; default today"
    )


class DraftEstimate(Command):
    budget_year: BudgetYear
    prepared_on: EffectiveDate


class EstimateLine(Model):
    project: ProjectCode
    source: CityBudgetSource
    channel: ChannelCode = catalogue.DEFAULT_CHANNEL
    amount: Share
    reason: Paragraph | None = None


class AppraiseEstimate(Command):
    budget_year: BudgetYear
    appraised_on: EffectiveDate
    lines: Annotated[list[EstimateLine], Field(min_length=1, max_length=200)]


class ReturnEstimate(Command):
    budget_year: BudgetYear
    reason: Paragraph
    returned_on: EffectiveDate | None = Field(
        default=None, description="the date of the return; default today"
    )


class ApproveEstimate(Command):
    budget_year: BudgetYear
    decision_no: Reference
    decided_on: EffectiveDate


# -- support applications --------------------------------------------------------------------


class SubmitApplication(Command):
    enterprise_id: UUID
    dossier_no: Reference
    project: ProjectCode
    support_type: SupportTypeCode
    title: Line
    total_cost: Money
    requested: Funding
    submitted_on: EffectiveDate


class ApplicationCommand(Command):
    application_id: UUID


class ReturnApplication(ApplicationCommand):
    returned_on: EffectiveDate
    reason: Paragraph


class ResubmitApplication(ApplicationCommand):
    resubmitted_on: EffectiveDate
    note: Paragraph | None = None


class AppraiseApplication(ApplicationCommand):
    appraised_on: EffectiveDate
    recommended: Funding
    note: Paragraph | None = None


class ApproveApplication(ApplicationCommand):
    decision_no: Reference
    decided_on: EffectiveDate
    budget_year: BudgetYear
    approved: Funding
    channel: ChannelCode = Field(
        default=catalogue.DEFAULT_CHANNEL,
        description="the city-budget channel whose line the approved share is committed on",
    )


class RejectApplication(ApplicationCommand):
    decided_on: EffectiveDate
    reason: Paragraph


class WithdrawApplication(ApplicationCommand):
    withdrawn_on: EffectiveDate
    reason: Paragraph


class SignContract(ApplicationCommand):
    contract_no: Reference
    signed_on: EffectiveDate


class RecordDisbursement(ApplicationCommand):
    paid_on: EffectiveDate
    amount: Money
    voucher_no: Reference
    kind: Literal["advance", "payment"]
    channel: ChannelCode | None = Field(
        default=None,
        description="the channel paid from: the approval's (the default); another is refused",
    )


class CounterpartSpent(Model):
    """What the enterprise and other sources actually spent, as found at acceptance."""

    enterprise: Share
    other: Share


class ReverseDisbursement(ApplicationCommand):
    disbursement_id: UUID
    reversed_on: EffectiveDate
    reason: Paragraph


class RecordAcceptance(ApplicationCommand):
    accepted_on: EffectiveDate
    result: Literal["passed", "failed"]
    outputs: dict[TargetCode, Annotated[int, Field(gt=0, le=10_000)]] = Field(default_factory=dict)
    counterpart_spent: CounterpartSpent | None = Field(
        default=None,
        description="what the enterprise and other sources actually spent (vốn đối ứng), as "
        "found at acceptance; absent: not reported",
    )


class SettleApplication(ApplicationCommand):
    settled_on: EffectiveDate
    note: Paragraph | None = None


class CancelApplication(ApplicationCommand):
    cancelled_on: EffectiveDate
    reason: Paragraph


class OrderRecovery(ApplicationCommand):
    ordered_on: EffectiveDate
    amount: Money
    reason: Paragraph


class ReceiveRecovery(ApplicationCommand):
    recovery_id: UUID
    received_on: EffectiveDate
    voucher_no: Reference


# -- program activities ----------------------------------------------------------------------


class ApproveActivity(Command):
    department: DepartmentCode
    project: ProjectCode
    kind: ActivityKind
    title: Line
    budget_year: BudgetYear
    budget: Money
    decision_no: Reference
    approved_on: EffectiveDate
    channel: ChannelCode = catalogue.DEFAULT_CHANNEL


class RecordActivitySpending(Command):
    activity_id: UUID
    spent_on: EffectiveDate
    amount: Money
    voucher_no: Reference


class CompleteActivity(Command):
    activity_id: UUID
    completed_on: EffectiveDate
    report: Paragraph


# -- users ----------------------------------------------------------------------------------


class GrantAccess(Command):
    name: Line
    role: RoleCode
    department: DepartmentCode


class RevokeAccess(Command):
    user_id: UUID
    reason: Paragraph


class ChangeUser(Command):
    """A user's new name or department, or both (what is not given stays as it is). The
    events recorded before keep the name and department in force then."""

    user_id: UUID
    reason: Paragraph
    name: Line | None = Field(default=None, description="the new full name; null: it stays")
    department: DepartmentCode | None = Field(
        default=None, description="the new department's code; null: it stays"
    )
