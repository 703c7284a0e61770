r"""Domain errors.

Every refusal the ledger makes is a :class:`LedgerError` with a stable ``code`` (the codes of
README's HTTP contract and a few of the server's own). ``detail`` is one sentence a clerk
understands, and ``title`` a few words; both are :class:`~ledger.messages.Message`\ s, English
text that the edges render in the language asked for (``ledger/messages.py``). A refused
command writes nothing. The domain knows codes, not HTTP: the status each code is answered
with is the HTTP layer's (``api/problems.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ledger.messages import Message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one input field (``loc`` as pydantic reports it)."""

    loc: tuple[str | int, ...]
    #: English text; a :class:`Message` (or pydantic's, a ``ValidationMessage``) to translate
    msg: str


class LedgerError(Exception):
    """Base of every refusal. ``code`` is part of the API contract."""

    code: ClassVar[str] = "ledger_error"
    title: ClassVar[Message] = Message("Refused")

    def __init__(self, detail: Message, *, errors: tuple[FieldProblem, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ValidationFailed(LedgerError):
    code = "validation_error"
    title = Message("Invalid input")


class FundingSplitMismatch(LedgerError):
    code = "funding_split_mismatch"
    title = Message("Funding split does not add up")


class Unauthorized(LedgerError):
    code = "unauthorized"
    title = Message("Authentication required")


class Forbidden(LedgerError):
    code = "forbidden"
    title = Message("Not allowed for this role")


class NotFound(LedgerError):
    code = "not_found"
    title = Message("Not found")


class InvalidTransition(LedgerError):
    code = "invalid_transition"
    title = Message("Not allowed at this stage")


class ExceedsRequested(LedgerError):
    code = "exceeds_requested"
    title = Message("Approval above the request")


class ExceedsApproved(LedgerError):
    code = "exceeds_approved"
    title = Message("Above the approved city-budget share")


class InsufficientBudget(LedgerError):
    code = "insufficient_budget"
    title = Message("Not enough uncommitted budget")


class SeparationOfDuties(LedgerError):
    code = "separation_of_duties"
    title = Message("Separation of duties")


class RuleViolation(LedgerError):
    code = "rule_violation"
    title = Message("Above the support rule in force")


class PeriodClosed(LedgerError):
    code = "period_closed"
    title = Message("Budget year closed")


class Duplicate(LedgerError):
    code = "duplicate"
    title = Message("Already recorded")


class EstimateInputsUnavailable(LedgerError):
    """The figures a draft estimate is computed from cannot be read now: no reader of the
    read models is installed in this process, or they are not caught up with the log. Not
    one of the HTTP contract's codes (README): the server's state, not the caller's request."""

    code = "estimate_inputs_unavailable"
    title = Message("The estimate's figures cannot be read now")


class AdminLockout(LedgerError):
    """A revocation that would lock the administrators out: an admin revoking its own access,
    or the last active admin's access revoked. Not one of the HTTP contract's codes (README)."""

    code = "admin_lockout"
    title = Message("Would lock the administrators out")


class ConcurrencyConflict(LedgerError):
    code = "concurrency_conflict"
    title = Message("Lost a race with another writer")


class StorageFailed(LedgerError):
    """The database did not store a change (its commit failed: a full disk, say). Not one of
    the HTTP contract's codes (README): the server's state, not the caller's request."""

    code = "storage_failed"
    title = Message("The database did not store the change")


class StorageUnavailable(LedgerError):
    """The database cannot be reached now (a connection lost, the server down or restarting).
    Nothing was written; ``retry_after`` says in how many seconds to try again."""

    code = "storage_unavailable"
    title = Message("The database cannot be reached")

    UNREACHABLE = Message(
        "The database cannot be reached now (the connection was lost, or the server is down "
        "or restarting); nothing was written. Please try again in a moment."
    )

    def __init__(self, detail: Message = UNREACHABLE, *, retry_after: int = 2) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
