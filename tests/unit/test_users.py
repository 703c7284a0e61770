"""Users and the guard of the last admin, on the aggregates: a revocation happens once, no
admin revokes their own access, and the last active admin stays."""

from __future__ import annotations

import pytest

from ledger.access import Actor
from ledger.errors import AdminLockout, InvalidTransition, ValidationFailed
from ledger.user import ADMINISTRATORS_ID, Administrators, User, token_hash, user_id_for_token
from tests.support.domain import ADMIN, meta, refused

TOKEN = "a-token-shown-once"


def granted(name: str = "Quản trị Hai", role: str = "admin", token: str = TOKEN) -> User:
    return User.grant(name, role, "SKHCN", token, meta(ADMIN))


def test_a_user_is_found_by_the_hash_of_its_token_and_the_token_is_not_kept() -> None:
    user = granted()
    assert user.id == user_id_for_token(TOKEN)
    assert user.token_hash == token_hash(TOKEN) != TOKEN
    assert TOKEN not in repr(user.collect_events())
    assert user.as_dict() == {
        "id": str(user.id),
        "name": "Quản trị Hai",
        "role": "admin",
        "department": "SKHCN",
        "active": True,
    }


def test_access_is_revoked_once() -> None:
    user = granted()
    user.revoke("Nghỉ việc", meta(ADMIN))
    assert not user.active
    error = refused(user, InvalidTransition, lambda: user.revoke("Lần nữa", meta(ADMIN)))
    assert error.detail == "Access of Quản trị Hai is already revoked."


def test_an_admin_may_not_revoke_their_own_access() -> None:
    user = granted()
    guard = Administrators.open(meta(ADMIN))
    itself = Actor(user_id=str(user.id), name=user.name, role="admin", department="SKHCN")
    error = refused(guard, AdminLockout, lambda: guard.revoke(user, 3, meta(itself)))
    assert error.detail == "You cannot revoke your own access; another admin must do it."


@pytest.mark.parametrize(("others", "kept"), [(0, False), (1, True), (2, True)])
def test_the_last_active_admin_keeps_their_access(others: int, kept: bool) -> None:
    user = granted()
    guard = Administrators.open(meta(ADMIN))
    assert guard.id == ADMINISTRATORS_ID
    if not kept:
        error = refused(guard, AdminLockout, lambda: guard.revoke(user, others, meta(ADMIN)))
        assert error.detail.startswith("Quản trị Hai is the last active admin:")
        return
    guard.revoke(user, others, meta(ADMIN))
    [opened, revoked] = guard.collect_events()
    assert isinstance(opened, Administrators.Opened)
    assert isinstance(revoked, Administrators.AdminRevoked)
    assert (revoked.user_id, revoked.remaining) == (user.id, others)


# -- a user renamed or moved to another department ---------------------------------------


def test_a_user_is_renamed_and_moved_and_the_event_says_only_what_changed() -> None:
    user = granted(role="officer")
    user.change("Quản Trị Hai Mới", None, "Đổi tên theo giấy khai sinh", meta(ADMIN))
    assert (user.name, user.department) == ("Quản Trị Hai Mới", "SKHCN")
    user.change(None, "STC", "Điều chuyển công tác", meta(ADMIN))
    assert (user.name, user.department) == ("Quản Trị Hai Mới", "STC")
    *_, renamed, moved = user.collect_events()
    assert isinstance(renamed, User.Changed) and isinstance(moved, User.Changed)
    assert renamed.changes == {"name": "Quản Trị Hai Mới"}
    assert moved.changes == {"department": "STC"}
    assert (moved.reason, moved.actor, moved.department) == (
        "Điều chuyển công tác",
        "admin",
        "SKHCN",
    )
    assert user.as_dict()["department"] == "STC"


def test_a_change_that_changes_nothing_is_refused() -> None:
    user = granted()
    error = refused(user, ValidationFailed, lambda: user.change(None, None, "x", meta(ADMIN)))
    assert error.detail == "The change changes nothing: give a new name or a new department."
    # values given, but the ones in force: a conflict with the user's state
    error = refused(
        user, InvalidTransition, lambda: user.change("Quản trị Hai", "SKHCN", "x", meta(ADMIN))
    )
    assert error.detail == (
        "Quản trị Hai already has that name and department (SKHCN): the change changes nothing."
    )


def test_a_revoked_user_is_not_changed() -> None:
    user = granted()
    user.revoke("Nghỉ việc", meta(ADMIN))
    error = refused(user, InvalidTransition, lambda: user.change("Ai Đó", None, "x", meta(ADMIN)))
    assert error.detail.startswith("Access of Quản trị Hai is revoked")
