"""Errors as ``application/problem+json`` (RFC 9457), the one shape every refusal takes.

``{"type", "title", "status", "detail", "code"}``, plus ``"errors": [{"loc", "msg"}]`` on a
422. Domain refusals are ``LedgerError``s and are mapped by one exception handler; the
HTTP layer's own refusals (bad JSON, a body too large, an unknown route, a wrong method)
use the same shape, and anything unexpected becomes a generic 500 whose traceback is
logged, never shown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.idempotency import IdempotencyKeyReused
from ledger.errors import (
    ConcurrencyConflict,
    Duplicate,
    ExceedsApproved,
    ExceedsRequested,
    FieldProblem,
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

log = logging.getLogger("api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:nscl-ledger:problem:"

#: The HTTP status each refusal's code is answered with (the domain names a refusal by its
#: code; the status is HTTP's). Every code a ``LedgerError`` may carry is here
#: (``tests/e2e/test_http_service.py`` checks).
STATUS_OF_CODE: dict[str, int] = {
    "validation_error": 422,
    "funding_split_mismatch": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "separation_of_duties": 403,
    "not_found": 404,
    "invalid_transition": 409,
    "exceeds_requested": 409,
    "exceeds_approved": 409,
    "insufficient_budget": 409,
    "rule_violation": 409,
    "period_closed": 409,
    "duplicate": 409,
    "idempotency_key_reused": 409,
    "concurrency_conflict": 409,
    "admin_lockout": 409,
    "rebuild_in_progress": 409,
    "not_a_hole": 409,
    "storage_unavailable": 503,
    "storage_failed": 503,
    "signing_key_unavailable": 503,
    "log_has_hole": 503,
    "not_ready": 503,
    "estimate_inputs_unavailable": 503,
}

#: the refusals of README's table of errors (the others are the server's own)
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


def status_of(error: LedgerError | type[LedgerError]) -> int:
    """The HTTP status a refusal is answered with."""
    return STATUS_OF_CODE[error.code]


#: The HTTP layer's own codes for statuses that no LedgerError covers.
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}

HTTP_DETAILS = {
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    500: "Something went wrong on the server; nothing you sent caused it. Please try again.",
}


def encode_json(content: Any) -> bytes:
    """The one JSON encoding of every answer (also the bytes an idempotent replay returns)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def problem_body(
    status: int, code: str, title: str, detail: str, errors: Iterable[FieldProblem] = ()
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if status == 422:
        body["errors"] = [{"loc": list(e.loc), "msg": e.msg} for e in errors]
    return body


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        encode_json(problem_body(status, code, title, detail, errors)),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


class PayloadTooLarge(Exception):
    """The request body passed the size limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit} bytes"
        super().__init__(f"The request body is larger than {size}.")
        self.detail = str(self)


def invalid(detail: str, *problems: tuple[Sequence[str | int], str]) -> ValidationFailed:
    """A ``validation_error`` naming the fields at fault (``loc`` as pydantic writes it)."""
    return ValidationFailed(
        detail, errors=tuple(FieldProblem(tuple(loc), msg) for loc, msg in problems)
    )


def field_problems(error: ValidationError, prefix: str) -> list[FieldProblem]:
    """Pydantic's errors as plain ``loc``/``msg`` pairs (never its ``ctx`` or ``input``)."""
    return [
        FieldProblem(
            (prefix, *(p if isinstance(p, int) else str(p) for p in e["loc"])), str(e["msg"])
        )
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def describe(problems: Sequence[FieldProblem]) -> str:
    """One sentence a clerk understands, naming the first field at fault."""
    if not problems:
        return "The request is not valid."
    first = problems[0]
    field = ".".join(str(p) for p in first.loc[1:])
    where = f"Field {field}" if field else f"The request {first.loc[0]}"
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    return f"{where}: {first.msg}{more if len(problems) > 1 else ''}."


# -- exception handlers --------------------------------------------------------------------


async def ledger_error(request: Request, exc: Exception) -> Response:
    """The one handler that maps every domain refusal to problem+json."""
    assert isinstance(exc, LedgerError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    errors = exc.errors or (FieldProblem(("body",), exc.detail),)  # a 422 always says where
    return problem_response(status, exc.code, exc.title, exc.detail, errors, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = HTTP_CODES.get(status, phrase.lower().replace(" ", "_").replace("-", "_"))
    detail = HTTP_DETAILS.get(status) or (exc.detail if exc.detail != phrase else phrase + ".")
    return problem_response(status, code, phrase, detail, headers=exc.headers)


async def payload_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PayloadTooLarge)
    return problem_response(413, "payload_too_large", "Request body too large", exc.detail)


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("Unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal_error", "Internal server error", HTTP_DETAILS[500])
