"""Refusals: the error codes and statuses of the HTTP contract (README), and ``refused``, which
runs a command that must be refused and proves it wrote nothing at all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from api.idempotency import IdempotencyKeyReused
from api.problems import status_of
from ledger.errors import (
    AdminLockout,
    ConcurrencyConflict,
    Duplicate,
    ExceedsApproved,
    ExceedsRequested,
    Forbidden,
    FundingSplitMismatch,
    InsufficientBudget,
    InvalidTransition,
    LedgerError,
    NotFound,
    PeriodClosed,
    RuleViolation,
    SeparationOfDuties,
    StorageUnavailable,
    Unauthorized,
    ValidationFailed,
)
from ledger.service import Ledger

#: The error codes and statuses of README (its table of errors), written out so that a renamed code
#: or a changed status fails the suite.
API_CODES: dict[type[LedgerError], tuple[str, int]] = {
    ValidationFailed: ("validation_error", 422),
    FundingSplitMismatch: ("funding_split_mismatch", 422),
    Unauthorized: ("unauthorized", 401),
    Forbidden: ("forbidden", 403),
    NotFound: ("not_found", 404),
    InvalidTransition: ("invalid_transition", 409),
    ExceedsRequested: ("exceeds_requested", 409),
    ExceedsApproved: ("exceeds_approved", 409),
    InsufficientBudget: ("insufficient_budget", 409),
    SeparationOfDuties: ("separation_of_duties", 403),
    RuleViolation: ("rule_violation", 409),
    PeriodClosed: ("period_closed", 409),
    Duplicate: ("duplicate", 409),
    IdempotencyKeyReused: ("idempotency_key_reused", 409),
    ConcurrencyConflict: ("concurrency_conflict", 409),
    StorageUnavailable: ("storage_unavailable", 503),
}
#: with the refusals the server adds to README's HTTP contract's (README's error list)
CODES = {**API_CODES, AdminLockout: ("admin_lockout", 409)}


# -- proving that nothing was written ---------------------------------------------------------


@dataclass(frozen=True)
class Footprint:
    """Everything a command could have written, as the ledger answers it."""

    position: int
    events: int
    histories: dict[UUID, list[dict[str, Any]]]
    applications: dict[UUID, dict[str, Any]]
    budget_lines: list[dict[str, Any]]


def footprint(ledger: Ledger, *application_ids: UUID) -> Footprint:
    return Footprint(
        position=ledger.position(),
        events=ledger.count_events(),
        histories={a: ledger.get_application_history(a) for a in application_ids},
        applications={a: ledger.get_application(a) for a in application_ids},
        budget_lines=ledger.get_budget_lines(),
    )


def refused(
    ledger: Ledger, error: type[LedgerError], run: Callable[[], object], *watch: UUID
) -> LedgerError:
    """Run ``run``, expect exactly ``error`` with its API code, and prove nothing changed:
    the global position, the number of events, the history and state of every watched
    application and every budget line are what they were before."""
    before = footprint(ledger, *watch)
    with pytest.raises(error) as caught:
        run()
    assert type(caught.value) is error
    assert (caught.value.code, status_of(caught.value)) == CODES[error]
    assert caught.value.detail, "a refusal says why in one sentence"
    assert footprint(ledger, *watch) == before, "a refused command changed what the ledger answers"
    return caught.value
