"""The users register: who each user was (name, department) when an event was recorded,
folded from the User events in position order; a later rename or move does not rewrite what
came before it."""

from __future__ import annotations

from ledger.access import SYSTEM
from ledger.people import Person, UsersRegister
from ledger.user import User
from tests.support.domain import ADMIN, meta


def test_each_position_gets_the_name_and_department_in_force_when_it_was_recorded() -> None:
    user = User.grant("Nguyễn Văn An", "officer", "SKHCN", "token-1", meta(ADMIN))
    user.change("Nguyễn Văn Anh", None, "Đổi tên", meta(ADMIN))
    user.change(None, "STC", "Điều chuyển", meta(ADMIN))
    granted, renamed, moved = user.collect_events()
    register = UsersRegister()
    for event, position in ((granted, 3), (renamed, 10), (moved, 20)):
        register.fold(event, position)
    actor = str(user.id)
    assert register.at(actor, 3) is None, "nobody before the grant"
    assert register.at(actor, 4) == Person("Nguyễn Văn An", "SKHCN")
    assert register.at(actor, 10) == Person("Nguyễn Văn An", "SKHCN"), "the renaming itself"
    assert register.at(actor, 11) == Person("Nguyễn Văn Anh", "SKHCN")
    assert register.at(actor, 21) == Person("Nguyễn Văn Anh", "STC")
    assert register.at("someone-else", 21) is None
    assert register.at(SYSTEM.user_id, 1) == Person(SYSTEM.name, SYSTEM.department)
