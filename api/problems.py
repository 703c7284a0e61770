"""Errors as ``application/problem+json`` (RFC 9457), the one shape every refusal takes.

``{"type", "title", "status", "detail", "code"}``, plus ``"errors": [{"loc", "msg"}]`` on a
422. Domain refusals are ``LedgerError``s and are mapped by one exception handler; the
HTTP layer's own refusals (bad JSON, a body too large, an unknown route, a wrong method)
use the same shape, and anything unexpected becomes a generic 500 whose traceback is
logged, never shown.

``title``, ``detail`` and each ``msg`` are written in the language the request asks for
(``Accept-Language``, ``api/languages.py``: English unless Vietnamese is preferred), said by
``Content-Language``; ``code`` and ``type`` never change. Outside the JSON API, a browser
(``Accept: text/html``) gets the same refusal as a Vietnamese page instead (``api/app.py``
chooses, ``api/web/errors.py`` renders; :func:`what_went_wrong` says what to show).
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

from api import languages
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
from ledger.messages import Language, Message, Terms, ValidationMessage, render

log = logging.getLogger("api")

#: the part of a request a problem is in, when no field is named (``loc[0]``)
REQUEST_PART = Terms("request part", ("body", "query", "path", "header"))

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
    "payload_too_large": 413,
    "unsupported_media_type": 415,
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

#: the titles of those answers: HTTP's reason phrases (``http.HTTPStatus``)
HTTP_TITLES = {
    400: Message("Bad Request"),
    404: Message("Not Found"),
    405: Message("Method Not Allowed"),
    413: Message("Request Entity Too Large"),
    415: Message("Unsupported Media Type"),
    500: Message("Internal Server Error"),
}

HTTP_DETAILS = {
    404: Message("There is nothing at this address."),
    405: Message("This address does not accept that method."),
    500: Message(
        "Something went wrong on the server; nothing you sent caused it. Please try again."
    ),
}
SERVER_ERROR = Message("Internal server error")


def encode_json(content: Any) -> bytes:
    """The one JSON encoding of every answer (also the bytes an idempotent replay returns)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Iterable[FieldProblem] = (),
    language: Language = "en",
) -> dict[str, Any]:
    """The problem's JSON, its texts written in ``language``."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": render(title, language),
        "status": status,
        "detail": render(detail, language),
        "code": code,
    }
    if status == 422:
        body["errors"] = [{"loc": list(e.loc), "msg": render(e.msg, language)} for e in errors]
    return body


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Iterable[FieldProblem] = (),
    headers: Mapping[str, str] | None = None,
    language: Language = "en",
) -> Response:
    return Response(
        encode_json(problem_body(status, code, title, detail, errors, language)),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={**(headers or {}), "Content-Language": language, "Vary": "Accept-Language"},
    )


class PayloadTooLarge(LedgerError):
    """The request body passed the size limit (answered 413)."""

    code = "payload_too_large"
    title = Message("Request body too large")

    def __init__(self, limit: int) -> None:
        size = (
            Message("{size} MiB", size=limit // 2**20)
            if limit % 2**20 == 0
            else Message("{size} bytes", size=limit)
        )
        super().__init__(Message("The request body is larger than {size}.", size=size))


class UnsupportedMediaType(LedgerError):
    """A command's body that is not said to be JSON (answered 415, nothing read)."""

    code = "unsupported_media_type"
    title = HTTP_TITLES[415]


def invalid(detail: Message, *problems: tuple[Sequence[str | int], Message]) -> ValidationFailed:
    """A ``validation_error`` naming the fields at fault (``loc`` as pydantic writes it)."""
    return ValidationFailed(
        detail, errors=tuple(FieldProblem(tuple(loc), msg) for loc, msg in problems)
    )


def field_problems(error: ValidationError, prefix: str) -> list[FieldProblem]:
    """Pydantic's errors as ``loc``/``msg`` pairs (never its ``input``): each ``msg`` is
    pydantic's in English, and translated by its ``type`` and ``ctx``
    (:class:`~ledger.messages.ValidationMessage`)."""
    return [
        FieldProblem(
            (prefix, *(p if isinstance(p, int) else str(p) for p in e["loc"])), ValidationMessage(e)
        )
        for e in error.errors(include_url=False, include_context=True, include_input=False)
    ]


def describe(problems: Sequence[FieldProblem]) -> Message:
    """One sentence a clerk understands, naming the first field at fault."""
    if not problems:
        return Message("The request is not valid.")
    first = problems[0]
    field = ".".join(str(p) for p in first.loc[1:])
    where = (
        Message("Field {field}", field=field)
        if field
        else Message("The request {part}", part=REQUEST_PART(str(first.loc[0])))
    )
    others = len(problems) - 1
    more = (
        ""
        if others == 0
        else Message(" (and {others} more problem)", others=others)
        if others == 1
        else Message(" (and {others} more problems)", others=others)
    )
    return Message("{where}: {msg}{more}.", where=where, msg=first.msg, more=more)


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
    language = languages.of_request(request)
    return problem_response(status, exc.code, exc.title, exc.detail, errors, headers, language)


def _http_detail(exc: HTTPException, phrase: str) -> str:
    return HTTP_DETAILS.get(exc.status_code) or (
        exc.detail if exc.detail != phrase else phrase + "."
    )


def what_went_wrong(exc: Exception) -> tuple[int, str, Mapping[str, str] | None]:
    """The status, the detail and the headers an exception is answered with (by a page
    outside the JSON API, ``api/web/errors.py``, as by a problem)."""
    if isinstance(exc, LedgerError):
        return status_of(exc), exc.detail, None
    if isinstance(exc, HTTPException):
        try:
            phrase = HTTPStatus(exc.status_code).phrase
        except ValueError:
            phrase = "Error"
        return exc.status_code, _http_detail(exc, phrase), exc.headers
    return 500, HTTP_DETAILS[500], None


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = HTTP_CODES.get(status, phrase.lower().replace(" ", "_").replace("-", "_"))
    title = HTTP_TITLES.get(status) or phrase
    detail = _http_detail(exc, phrase)
    language = languages.of_request(request)
    return problem_response(status, code, title, detail, headers=exc.headers, language=language)


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("Unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    language = languages.of_request(request)
    return problem_response(
        500, "internal_error", SERVER_ERROR, HTTP_DETAILS[500], language=language
    )
