"""User: a person's access to the ledger. Granting and revoking access are events.

The token is shown once and never stored: the user's id is derived from the token's SHA-256
hash, so authenticating a request is one lookup by id, and nothing in the store can be used
to sign in.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from uuid import UUID, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.errors import InvalidTransition


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_id_for_token(token: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"user-token/{token_hash(token)}")


class User(LedgerAggregate):
    name: str
    role: str
    department: str
    token_hash: str
    active: bool

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Granted(LedgerAggregate.Created):
        name: str
        role: str
        department_code: str
        token_hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.name = self.name
            aggregate.role = self.role
            aggregate.department = self.department_code
            aggregate.token_hash = self.token_hash
            aggregate.active = True

    class Revoked(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.active = False

    @classmethod
    def grant(cls, name: str, role: str, department: str, token: str, meta: Meta) -> User:
        return cls._create(
            cls.Granted,
            id=user_id_for_token(token),
            name=name,
            role=role,
            department_code=department,
            token_hash=token_hash(token),
            **meta.fields(),
        )

    def revoke(self, reason: str, meta: Meta) -> None:
        if not self.active:
            raise InvalidTransition(f"Access of {self.name} is already revoked.")
        self.trigger_event(self.Revoked, reason=reason, **meta.fields())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "role": self.role,
            "department": self.department,
            "active": self.active,
        }
