"""User: a person's access to the ledger. Granting and revoking access are events, and so
is a change of a user's name or department (``Changed``): the events recorded before it keep
the name and department in force then (``ledger/people.py``).

The token is shown once and never stored: the user's id is derived from the token's SHA-256
hash, so authenticating a request is one lookup by id, and nothing in the store can be used
to sign in.

Administrators: the guard of one rule, that the ledger always keeps an active admin (someone
must be able to manage users). Every revocation of an admin's access is also written on this
one record, in the same transaction, with the number of admins it leaves. Two revocations
racing each write the guard's next version: one of them loses the optimistic-concurrency race,
is rerun from fresh state and finds the other's revocation (the service reads the guard before
it counts the admins, so a count can never be older than the guard it writes).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from uuid import UUID, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.errors import AdminLockout, InvalidTransition, ValidationFailed
from ledger.messages import Message

ADMIN = "admin"
#: the id of the one ``Administrators`` record
ADMINISTRATORS_ID = uuid5(LEDGER_NAMESPACE, "administrators")


#: what a change of a user may change (``User.Changed.changes`` keys, attributes of ``User``)
CHANGEABLE = ("name", "department")


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

    class Changed(LedgerAggregate.Event):
        """A new name or department (or both): ``changes`` holds only what changed, by the
        keys of :data:`CHANGEABLE`."""

        changes: dict[str, str]
        reason: str

        def apply(self, aggregate: Any) -> None:
            for key, value in self.changes.items():
                setattr(aggregate, key, value)

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
            raise InvalidTransition(Message("Access of {name} is already revoked.", name=self.name))
        self.trigger_event(self.Revoked, reason=reason, **meta.fields())

    def change(self, name: str | None, department: str | None, reason: str, meta: Meta) -> None:
        """Rename the user or move them to another department (``None``: stays)."""
        if not self.active:
            raise InvalidTransition(
                Message(
                    "Access of {name} is revoked: the name and department of a former user stay "
                    "as they were.",
                    name=self.name,
                )
            )
        wanted = dict(zip(CHANGEABLE, (name, department), strict=True))
        if all(value is None for value in wanted.values()):
            raise ValidationFailed(
                Message("The change changes nothing: give a new name or a new department.")
            )
        changes = {
            key: value
            for key, value in wanted.items()
            if value is not None and value != getattr(self, key)
        }
        if not changes:
            raise InvalidTransition(
                Message(
                    "{name} already has that name and department ({department}): the change "
                    "changes nothing.",
                    name=self.name,
                    department=self.department,
                )
            )
        self.trigger_event(self.Changed, changes=changes, reason=reason, **meta.fields())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "role": self.role,
            "department": self.department,
            "active": self.active,
        }


class Administrators(LedgerAggregate):
    """The guard that keeps an active admin (see the module's docstring). Opened by the first
    revocation of an admin's access."""

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Opened(LedgerAggregate.Created):
        def apply(self, aggregate: Any) -> None:
            pass

    class AdminRevoked(LedgerAggregate.Event):
        user_id: UUID
        remaining: int

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def open(cls, meta: Meta) -> Administrators:
        return cls._create(cls.Opened, id=ADMINISTRATORS_ID, **meta.fields())

    def revoke(self, user: User, others: int, meta: Meta) -> None:
        """Record that ``user``, an active admin, loses its access while ``others`` active
        admins remain; refuse if it is the actor's own access or none would remain."""
        if str(user.id) == meta.actor.user_id:
            raise AdminLockout(
                Message("You cannot revoke your own access; another admin must do it.")
            )
        if others < 1:
            raise AdminLockout(
                Message(
                    "{name} is the last active admin: grant the admin role to someone else "
                    "before revoking this access.",
                    name=user.name,
                )
            )
        self.trigger_event(self.AdminRevoked, user_id=user.id, remaining=others, **meta.fields())
