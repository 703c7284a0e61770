"""The Starlette HTTP API (README, "HTTP API") and the dashboard, built from the route table.

Every handler is thin: parse → authorize → call the service in the thread pool → answer.
A command request is checked in this order, and refused at the first failure:

1. ``Authorization: Bearer <token>`` names an active user (401 ``unauthorized``);
2. the user's role may run the command (403 ``forbidden``), before the body is read;
3. ``Content-Type`` is ``application/json`` (any case, parameters allowed, a charset only if
   UTF-8), or 415 ``unsupported_media_type``: a body in another form, or none said, is never
   read;
4. ``Idempotency-Key``, if sent, is 1 to 200 printable characters (422);
5. the body is at most 1 MiB (413) of JSON holding one object, without NaN or Infinity or
   a key given twice, with neither the path's ids nor ``command_id`` in it (422); a whole
   number written with a fraction or an exponent (``254.0``) is an integer;
6. the command validates (422 ``validation_error``, with ``errors``);
7. the service carries it out, or refuses with its domain code; with an Idempotency-Key the
   lookup, the command and the stored answer share one unit of work.
"""

from __future__ import annotations

import contextlib
import decimal
import json
import logging
import math
import secrets
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

import anyio.to_thread
from pydantic import BaseModel, ValidationError
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from api.endpoints import HTML, Download, Endpoint
from api.idempotency import MAX_KEY_LENGTH, Answer, request_hash, run_once
from api.problems import (
    PayloadTooLarge,
    UnsupportedMediaType,
    describe,
    encode_json,
    field_problems,
    http_error,
    invalid,
    ledger_error,
    server_error,
    what_went_wrong,
)
from api.read_side import ReadSide
from api.routes import ENDPOINTS
from api.web import errors as error_pages
from api.web import pages, session
from api.web.security import SecurityHeaders
from ledger import settings
from ledger.access import Actor, require
from ledger.errors import (
    FieldProblem,
    Forbidden,
    LedgerError,
    StorageUnavailable,
    Unauthorized,
    ValidationFailed,
)
from ledger.messages import Message, Terms, ValidationMessage
from ledger.persistence import is_connection_lost
from ledger.service import Ledger
from projections.background import Background
from projections.health import Board
from projections.projector import fold_elsewhere

MAX_BODY_BYTES = 1024 * 1024
#: a field the body may not hold (the path's ids, ``command_id``): pydantic's own words
EXTRA_INPUT = ValidationMessage(
    {"type": "extra_forbidden", "msg": "Extra inputs are not permitted"}
)
JSON_MEDIA_TYPE = "application/json"


def create_app(ledger: Ledger, *, follow: bool = False, board: Board | None = None) -> Starlette:
    """The HTTP API and dashboard over ``ledger`` (``ledger serve`` runs this).

    Its readers share one read side (:class:`~api.read_side.ReadSide`: the ledger, its
    projector and its replay cache), kept on ``app.state.read_side``. With ``follow``, the
    background work (the live follower and the replay-snapshot maker,
    :mod:`projections.background`) runs in this process for as long as the app runs
    (``ledger serve --workers 1``). With a ``board`` instead, another process runs it and
    publishes its health there (an HTTP worker of ``ledger serve --workers N``,
    ``api/serving.py``): this process then never folds the live projections (it waits for
    that follower), and ``/api/health`` says how that process's work is doing."""
    if follow and board is not None:
        raise ValueError("follow here, or read the board of the process that follows: not both")
    if board is not None:
        fold_elsewhere(ledger.engine)
    read_side = ReadSide(ledger, board)
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in ENDPOINTS:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    routes = [
        Route(path, _dispatcher(read_side, methods), methods=list(methods), name=path)
        for path, methods in by_path.items()
    ]
    secret = settings.SESSION_SECRET.get() or secrets.token_urlsafe(48)
    app = Starlette(
        routes=[*routes, *pages.ROUTES],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="nscl_session",
                max_age=session.MAX_AGE,
                same_site="strict",
                https_only=settings.HTTPS.get(),
            ),
        ],
        lifespan=_lifespan(read_side, follow),
        exception_handlers={
            LedgerError: _for_browsers(ledger_error),
            HTTPException: _for_browsers(http_error),
            Exception: _for_browsers(server_error),
        },
    )
    app.router.redirect_slashes = False
    app.state.ledger = ledger
    app.state.read_side = read_side
    return app


log = logging.getLogger("api")
Handler = Callable[[Request, Exception], Awaitable[Response]]


def _for_browsers(handler: Handler) -> Handler:
    """``handler`` (a problem+json answer), except for a browser's request outside the JSON
    API, which gets the same refusal or failure as a Vietnamese page (``api/web/errors.py``)."""

    async def answer(request: Request, exc: Exception) -> Response:
        if not error_pages.wants_page(request):
            return await handler(request, exc)
        status, detail, headers = what_went_wrong(exc)
        if status == 500:
            log.error(
                "Unexpected error answering %s %s", request.method, request.url.path, exc_info=exc
            )
        return error_pages.error_page(request, status, detail, headers)

    return answer


def worker_threads(ledger: Ledger) -> int | None:
    """How many requests may use the database at once: what the engine's connection pool can
    hand out (its size and overflow), less three for the background work (the live follower,
    and the replay snapshots' reader and tree); ``None``: no limit.
    More worker threads than connections would only make the extra requests wait in the pool
    and fail after its timeout under load, instead of queueing for a thread."""
    pool = ledger.engine.pool
    if not isinstance(pool, QueuePool):
        return None
    overflow = int(pool._max_overflow)  # no public accessor (``overflow()`` is the current)
    return None if overflow < 0 else max(1, pool.size() + overflow - 3)


def _lifespan(read_side: ReadSide, follow: bool) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threads = worker_threads(read_side.ledger)
        if threads is not None:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        background = Background(read_side.projector) if follow else None
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()

    return lifespan


def _dispatcher(read_side: ReadSide, methods: Mapping[str, Endpoint]) -> Any:
    async def dispatch(request: Request) -> Response:
        endpoint = methods["GET" if request.method == "HEAD" else request.method]
        try:
            if endpoint.command is not None:
                return await _run_command(read_side.ledger, endpoint, request)
            return await _run_query(read_side, endpoint, request)
        except (LedgerError, HTTPException):
            raise  # answered by their exception handlers
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        except Exception as error:  # a fault of ours: logged, answered 500, not re-raised
            if is_connection_lost(error):  # not ours: the database is out of reach
                return await ledger_error(request, StorageUnavailable())
            return await server_error(request, error)

    return dispatch


# -- the two kinds of handler --------------------------------------------------------------


async def _run_query(read_side: ReadSide, endpoint: Endpoint, request: Request) -> Response:
    ledger = read_side.ledger
    actor = None
    if not endpoint.public:
        actor = await _authenticate(ledger, request)
        if endpoint.roles is not None and actor.role not in endpoint.roles:
            needs = ", ".join(sorted(endpoint.roles))
            raise Forbidden(
                Message(
                    "The role '{role}' may not read this; it needs {needs}.",
                    role=actor.role,
                    needs=needs,
                )
            )
    params = _parse_query(endpoint.query, request) if endpoint.query else None
    assert endpoint.read is not None
    read, path = endpoint.read, dict(request.path_params)
    result = await run_in_threadpool(ledger.read, lambda: read(read_side, path, params, actor))
    if endpoint.media_type == HTML:
        return HTMLResponse(result)
    if isinstance(result, Download):
        return _download(result, endpoint.status)
    return Response(encode_json(result), endpoint.status, media_type=JSON_MEDIA_TYPE)


def _download(download: Download, status: int) -> Response:
    """A file sent as an attachment (``Content-Disposition``), streamed, then closed."""
    size = download.file.seek(0, 2)
    download.file.seek(0)

    def chunks() -> Iterator[bytes]:
        with download.file as file:
            while chunk := file.read(64 * 1024):
                yield chunk

    name = download.filename
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    disposition = f'attachment; filename="{plain}"'
    if plain != name:  # RFC 6266: the exact name too, for clients that read it
        disposition += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    headers = {"Content-Disposition": disposition, "Content-Length": str(size)}
    return StreamingResponse(chunks(), status, headers, media_type=download.media_type)


async def _run_command(ledger: Ledger, endpoint: Endpoint, request: Request) -> Response:
    actor = await _authenticate(ledger, request)
    require(actor, endpoint.name)  # 403 before a byte of the body is read
    _require_json(request)
    key = _idempotency_key(request)
    body = await _read_json_object(request)
    cmd = _build_command(endpoint, body, request.path_params)
    service_method = getattr(ledger, endpoint.name)

    def carry_out() -> Answer:
        sent, stored = endpoint.answer(service_method(cmd, actor))
        return Answer(endpoint.status, encode_json(sent), encode_json(stored))

    once = carry_out
    if key is not None:
        path = endpoint.template.format(**{k: str(v) for k, v in request.path_params.items()})
        fingerprint = request_hash(request.method, path, body)

        def once() -> Answer:
            return run_once(ledger, actor.user_id, key, fingerprint, carry_out)

    prepare = endpoint.prepare

    def run() -> Answer:
        if prepare is None:
            return once()
        with prepare(ledger, cmd):  # before the unit of work, in the same thread
            return once()

    answer = await run_in_threadpool(run)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, answer.status, headers=headers, media_type=JSON_MEDIA_TYPE)


# -- parsing -------------------------------------------------------------------------------


async def _authenticate(ledger: Ledger, request: Request) -> Actor:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            Message("Sign in: send the header 'Authorization: Bearer <your token>'.")
        )
    return await run_in_threadpool(ledger.read, lambda: ledger.authenticate(token))


def _require_json(request: Request) -> None:
    """Refuse (415) a command whose body is not said to be JSON: ``application/json``, its
    parameters allowed, a ``charset`` only if UTF-8 (RFC 8259 JSON is UTF-8)."""
    given = request.headers.get("content-type", "")
    media_type, *parameters = given.split(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        said = (
            Message("'{given}'", given=given.strip())
            if given.strip()
            else Message("no Content-Type")
        )
        raise UnsupportedMediaType(
            Message(
                "The body must be JSON sent with 'Content-Type: {json}'; this request has {said}.",
                json=JSON_MEDIA_TYPE,
                said=said,
            )
        )
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                Message(
                    "JSON is read as UTF-8: send '{json}' or '{json}; charset=utf-8', not "
                    "charset {charset}.",
                    json=JSON_MEDIA_TYPE,
                    charset=value.strip(),
                )
            )


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not key.strip():
        raise invalid(
            Message(
                "The Idempotency-Key header is empty: send a key of 1 to {most} characters, or "
                "no header at all.",
                most=MAX_KEY_LENGTH,
            ),
            (("header", "Idempotency-Key"), Message("empty: give a key, or leave the header out")),
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise invalid(
            Message(
                "The Idempotency-Key header must be at most {most} printable characters.",
                most=MAX_KEY_LENGTH,
            ),
            (
                ("header", "Idempotency-Key"),
                Message("at most {most} printable characters", most=MAX_KEY_LENGTH),
            ),
        )
    return key


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(MAX_BODY_BYTES)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(Message("{name} is not a number JSON allows", name=name))


def _json_number(text: str) -> float | int:
    """A JSON number with a fraction or an exponent: a whole number (``254.0``, ``2.54e2``)
    is an integer, as JSON Schema counts it, read exactly (``1.0000000000000001`` is not);
    anything else a float, refused where an integer is due."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(Message("{text} is too large a number", text=text))
    exact = decimal.Decimal(text)
    if exact == exact.to_integral_value():
        return int(exact)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(Message("the key {name!r} is given twice", name=name))
        result[name] = value
    return result


async def _read_json_object(request: Request) -> dict[str, Any]:
    raw = await _read_body(request)
    try:
        body = json.loads(
            raw,
            parse_constant=_refuse_constant,
            parse_float=_json_number,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as error:
        msg = Message(
            "not valid JSON: {reason} at line {line} column {column}",
            reason=JSON_ERRORS(error.msg),
            line=error.lineno,
            column=error.colno,
        )
        raise _not_json(msg) from None
    except (ValueError, RecursionError) as error:  # NaN, Infinity, duplicates, bad UTF-8, …
        msg = (
            Message("not valid JSON: {reason}", reason=_reason(error))
            if isinstance(error, ValueError)
            else Message("nested too deeply")
        )
        raise _not_json(msg) from None
    try:
        encode_json(body)
    except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800" is no text
        raise _not_json(
            Message("not valid JSON: a string holds an unpaired UTF-16 surrogate")
        ) from None
    if not isinstance(body, dict):
        raise invalid(
            Message("The request body must be a JSON object."),
            (("body",), Message("must be a JSON object")),
        )
    return body


#: what Python's JSON decoder says is wrong (``json.JSONDecodeError.msg``), as a refusal
#: names it
JSON_ERRORS = Terms(
    "JSON error",
    (
        "Expecting value",
        "Expecting property name enclosed in double quotes",
        "Expecting ':' delimiter",
        "Expecting ',' delimiter",
        "Extra data",
        "Unterminated string starting at",
        "Invalid control character at",
        "Invalid \\escape",
        "Invalid \\uXXXX escape",
        "Unexpected UTF-8 BOM (decode using utf-8-sig)",
    ),
)


def _reason(error: ValueError) -> object:
    """What a ``ValueError`` of the JSON decoding says: ours (a :class:`Message`) or
    Python's (bad UTF-8: English only)."""
    said = error.args[0] if error.args else ""
    return said if isinstance(said, Message) else str(error)


def _not_json(msg: Message) -> ValidationFailed:
    return invalid(Message("The request body is {msg}.", msg=msg), (("body",), msg))


def _build_command(endpoint: Endpoint, body: dict[str, Any], path_params: Mapping[str, Any]) -> Any:
    """The command: the body's fields plus the ids of the path, validated in JSON mode."""
    assert endpoint.command is not None
    reserved = {*endpoint.path_params, "command_id"}
    problems = [FieldProblem(("body", name), EXTRA_INPUT) for name in body if name in reserved]
    merged = {name: value for name, value in body.items() if name not in reserved}
    # ids as their text; a number (a year, ``{budget_year:int}``) as a number
    merged.update({name: v if isinstance(v, int) else str(v) for name, v in path_params.items()})
    try:
        cmd = endpoint.command.model_validate_json(encode_json(merged))
    except ValidationError as error:
        problems.extend(
            # a path parameter's problem is the path's, not the body's
            FieldProblem(("path", *p.loc[1:]), p.msg) if p.loc[1:2] in in_path else p
            for p in field_problems(error, "body")
            for in_path in [{(name,) for name in path_params}]
        )
    if problems:
        raise ValidationFailed(describe(problems), errors=tuple(problems))
    return cmd


def _parse_query(model: type[BaseModel], request: Request) -> BaseModel:
    problems = [
        FieldProblem(("query", name), Message("given more than once"))
        for name in set(request.query_params)
        if len(request.query_params.getlist(name)) > 1
    ]
    problems += [
        FieldProblem(("query", name), Message("the NUL character (U+0000) is not allowed"))
        for name, value in request.query_params.items()
        if "\x00" in value  # no database text can hold it
    ]
    # a field with an alias (``from``) is named by its alias only, never by its Python name
    problems += [
        FieldProblem(
            ("query", name),
            Message("unknown parameter; did you mean {alias!r}?", alias=field.alias),
        )
        for name, field in model.model_fields.items()
        if field.alias is not None and field.alias != name and name in request.query_params
    ]
    values = {name: value for name, value in request.query_params.items() if value != ""}
    try:
        params = model.model_validate(values)
    except ValidationError as error:
        problems.extend(field_problems(error, "query"))
    if problems:
        raise ValidationFailed(describe(problems), errors=tuple(problems))
    return params
