"""Signing in to the pages: a token is given once, in a form; the session then remembers the
user, not the token.

The session is Starlette's ``SessionMiddleware``: a cookie signed with a server-side secret
(``LEDGER_SESSION_SECRET``; a random one per process when unset, so a restart signs everyone
out), ``HttpOnly``, ``SameSite=Strict``, ``Secure`` when ``LEDGER_HTTPS`` says the server is
reached over HTTPS, eight hours at most. It holds the user's id and a CSRF token; every
request looks the user up again, so a revoked user is signed out at their next click.

Every form that writes or starts work (sign-in, sign-out, verify) carries the session's CSRF
token in a hidden field, compared in constant time; a form without it, or with another, is
refused with a 403 page and does nothing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from uuid import UUID

from starlette.requests import Request

from ledger.access import Actor
from ledger.errors import LedgerError
from ledger.service import Ledger

USER = "user_id"
CSRF = "csrf"
MAX_AGE = 8 * 60 * 60


def actor(request: Request, ledger: Ledger) -> Actor | None:
    """Who is signed in, or None (a revoked user is signed out here)."""
    user_id = request.session.get(USER)
    if not user_id:
        return None
    try:
        return ledger.actor_of(UUID(str(user_id)))
    except (LedgerError, ValueError):
        request.session.pop(USER, None)
        return None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF)
    if not isinstance(token, str) or not token:
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    """Whether the form carries the session's CSRF token."""
    expected = request.session.get(CSRF)
    given = form.get(CSRF)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and bool(expected)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


def sign_in(request: Request, user_id: str) -> None:
    request.session.clear()
    request.session[USER] = user_id
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()
