"""The users register: who each user was, name and department, at any position of the log.

An event names its actor by user id and carries the actor's department as it was when the
event was recorded (``ledger/base.py``); the actor's name is not on it. The register is folded
from the ``User`` events (``ledger/user.py``: ``Granted``, ``Changed``) in position order, so
the event at position P gets the name and department in force when it was recorded, as the
``User`` events before P left them: a user renamed or moved to another department later does
not rewrite the past. The audit trail folds the same step (:func:`person_after`) as it goes;
an application's history reads the register (``Ledger.users_register``).

A user's name is personnel data (``ledger.access.may_read_personnel``): whoever shows it
shows it only to those who may read personnel data.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from eventsourcing.utils import get_topic

from ledger.access import SYSTEM
from ledger.user import User


@dataclass(frozen=True, slots=True)
class Person:
    """A user's name and department code, as one of their ``User`` events left them."""

    name: str
    department: str


#: the topics of the events the register is folded from
TOPICS = (get_topic(User.Granted), get_topic(User.Changed))
#: the actor of the work done from the server's own command line
SYSTEM_PERSON = Person(SYSTEM.name, SYSTEM.department)


def person_after(event: User.Granted | User.Changed, before: Person | None) -> Person:
    """Who the user of ``event`` is once it is recorded (``before``: who they were)."""
    if isinstance(event, User.Granted):
        return Person(event.name, event.department_code)
    if before is None:  # a change of a user the register never saw granted
        before = Person("", "")
    return Person(
        event.changes.get("name", before.name), event.changes.get("department", before.department)
    )


class UsersRegister:
    """Who each user was since which position (fold the ``User`` events in position order)."""

    def __init__(self) -> None:
        self._since: dict[str, list[int]] = {}
        self._people: dict[str, list[Person]] = {}

    def fold(self, event: object, position: int) -> None:
        """Fold the event at ``position``; an event that is no grant or change is passed over."""
        if not isinstance(event, User.Granted | User.Changed):
            return
        user_id = str(event.originator_id)
        since = self._since.setdefault(user_id, [])
        people = self._people.setdefault(user_id, [])
        assert not since or since[-1] < position, "the register folds in position order"
        since.append(position)
        people.append(person_after(event, people[-1] if people else None))

    def at(self, user_id: str, position: int) -> Person | None:
        """Who ``user_id`` was when the event at ``position`` was recorded: as the ``User``
        events before that position left them (``None``: not a user then)."""
        if user_id == SYSTEM.user_id:
            return SYSTEM_PERSON
        since = self._since.get(user_id)
        if not since:
            return None
        found = bisect.bisect_left(since, position)
        return self._people[user_id][found - 1] if found else None
