"""Users and the guard of the last admin, on the aggregates: a revocation happens once, no
admin revokes their own access, and the last active admin stays."""

from __future__ import annotations

import pytest

from ledger.access import Actor
from ledger.errors import AdminLockout, InvalidTransition
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
