"""Domain errors.

Every refusal the ledger makes is a :class:`LedgerError` with a stable ``code`` (the codes of
API.md) and the HTTP status the API answers with. ``detail`` is one sentence a clerk
understands. A refused command writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with one input field (``loc`` as pydantic reports it)."""

    loc: tuple[str | int, ...]
    msg: str


class LedgerError(Exception):
    """Base of every refusal. ``code`` and ``status`` are part of the API contract."""

    code: ClassVar[str] = "ledger_error"
    status: ClassVar[int] = 409
    title: ClassVar[str] = "Refused"

    def __init__(self, detail: str, *, errors: tuple[FieldProblem, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ValidationFailed(LedgerError):
    code = "validation_error"
    status = 422
    title = "Invalid input"


class FundingSplitMismatch(LedgerError):
    code = "funding_split_mismatch"
    status = 422
    title = "Funding split does not add up"


class Unauthorized(LedgerError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(LedgerError):
    code = "forbidden"
    status = 403
    title = "Not allowed for this role"


class NotFound(LedgerError):
    code = "not_found"
    status = 404
    title = "Not found"


class InvalidTransition(LedgerError):
    code = "invalid_transition"
    status = 409
    title = "Not allowed at this stage"


class ExceedsRequested(LedgerError):
    code = "exceeds_requested"
    status = 409
    title = "Approval above the request"


class ExceedsApproved(LedgerError):
    code = "exceeds_approved"
    status = 409
    title = "Above the approved city-budget share"


class InsufficientBudget(LedgerError):
    code = "insufficient_budget"
    status = 409
    title = "Not enough uncommitted budget"


class SeparationOfDuties(LedgerError):
    code = "separation_of_duties"
    status = 403
    title = "Separation of duties"


class RuleViolation(LedgerError):
    code = "rule_violation"
    status = 409
    title = "Above the support rule in force"


class PeriodClosed(LedgerError):
    code = "period_closed"
    status = 409
    title = "Budget year closed"


class Duplicate(LedgerError):
    code = "duplicate"
    status = 409
    title = "Already recorded"


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"
    status = 409
    title = "Idempotency key reused"


class AdminLockout(LedgerError):
    """A revocation that would lock the administrators out: an admin revoking its own access,
    or the last active admin's access revoked. Not one of API.md's codes."""

    code = "admin_lockout"
    status = 409
    title = "Would lock the administrators out"


class ConcurrencyConflict(LedgerError):
    code = "concurrency_conflict"
    status = 409
    title = "Lost a race with another writer"


class StorageFailed(LedgerError):
    """The database did not store a change (its commit failed: a full disk, say). Not one of
    API.md's codes: the server's state, not the caller's request."""

    code = "storage_failed"
    status = 503
    title = "The database did not store the change"


class StorageUnavailable(LedgerError):
    """The database cannot be reached now (a connection lost, the server down or restarting).
    Nothing was written; ``retry_after`` says in how many seconds to try again."""

    code = "storage_unavailable"
    status = 503
    title = "The database cannot be reached"

    UNREACHABLE = (
        "The database cannot be reached now (the connection was lost, or the server is down "
        "or restarting); nothing was written. Please try again in a moment."
    )

    def __init__(self, detail: str = UNREACHABLE, *, retry_after: int = 2) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


#: the error codes of API.md (StorageFailed and the audit key's are the server's own)
ALL_ERRORS: tuple[type[LedgerError], ...] = (
    ValidationFailed,
    FundingSplitMismatch,
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidTransition,
    ExceedsRequested,
    ExceedsApproved,
    InsufficientBudget,
    SeparationOfDuties,
    RuleViolation,
    PeriodClosed,
    Duplicate,
    IdempotencyKeyReused,
    ConcurrencyConflict,
    StorageUnavailable,
)

__all__ = [
    "FieldProblem", "LedgerError", "ALL_ERRORS", "StorageFailed", "AdminLockout",
    *[e.__name__ for e in ALL_ERRORS],
]  # fmt: skip
