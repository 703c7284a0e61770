"""Idempotency-Key: the same request sent twice is answered twice but carried out once.

A key is scoped to the user who sends it. The lookup, the command and the stored answer
share ONE unit of work (``Ledger.execute``): either the command's events and the key's row
commit together, or neither does. Two requests racing with the same key collide on the
row's primary key; the loser's transaction is rolled back and rerun by ``execute``, finds the
winner's row and answers with it. Only successful answers are stored: a refused command
writes nothing, its key included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert, select

from ledger.errors import LedgerError
from ledger.messages import Message
from ledger.service import Ledger

MAX_KEY_LENGTH = 200

#: The table of migration 0001 (never created at run time).
idempotency_keys = Table(
    "idempotency_keys",
    MetaData(),
    Column("user_id", String(64), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer(), nullable=False),
    Column("response", Text(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class IdempotencyKeyReused(LedgerError):
    """The same Idempotency-Key was sent with a different request."""

    code = "idempotency_key_reused"
    title = Message("Idempotency key reused")


@dataclass(frozen=True, slots=True)
class Answer:
    """A command's answer: status, the body sent, and the body stored for a replay."""

    status: int
    body: bytes
    stored: bytes
    replayed: bool = False


def request_hash(method: str, path: str, body: Any) -> str:
    """SHA-256 of method, path and the canonical JSON of the parsed body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def run_once(
    ledger: Ledger, user_id: str, key: str, fingerprint: str, command: Callable[[], Answer]
) -> Answer:
    """Answer from the stored row of ``key``, or run ``command`` and store its answer.

    Blocking: call it in a worker thread.
    """

    def work() -> Answer:
        with ledger.session() as session:
            row = session.execute(
                select(
                    idempotency_keys.c.request_hash,
                    idempotency_keys.c.status_code,
                    idempotency_keys.c.response,
                ).where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
            ).first()
            if row is not None:
                if row.request_hash != fingerprint:
                    raise IdempotencyKeyReused(
                        Message(
                            "This Idempotency-Key was already used for a different request; "
                            "use a new key for a new request."
                        )
                    )
                stored = row.response.encode()
                return Answer(row.status_code, stored, stored, replayed=True)
            answer = command()
            session.execute(
                insert(idempotency_keys).values(
                    user_id=user_id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=answer.status,
                    response=answer.stored.decode(),
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
            return answer

    return ledger.execute(work)
