"""Nobody locks the administrators out: an admin may not revoke its own access, and the last
active admin's access may not be revoked, not even by two admins revoking each other at the
same moment (the ``Administrators`` guard is saved with every revocation of an admin, so the
ledger serialises them by optimistic concurrency)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.errors import AdminLockout, InvalidTransition
from ledger.service import GrantedAccess, Ledger, Written
from tests.support.concurrency import Ledgers, race, raced
from tests.support.people import People
from tests.support.refusals import refused


def admins(ledger: Ledger) -> list[str]:
    return sorted(u["name"] for u in ledger.list_users() if u["role"] == "admin" and u["active"])


def grant_admin(ledger: Ledger, name: str) -> tuple[GrantedAccess, Actor]:
    granted = ledger.grant_access(
        c.GrantAccess(name=name, role="admin", department="SKHCN"), SYSTEM
    )
    return granted, ledger.authenticate(granted.token)


def revoke(ledger: Ledger, user_id: UUID, by: Actor) -> Written:
    return ledger.revoke_access(c.RevokeAccess(user_id=user_id, reason="Chuyển công tác"), by)


def test_an_admin_may_not_revoke_its_own_access(ledger: Ledger, people: People) -> None:
    grant_admin(ledger, "Quản trị 2")  # another admin would remain: still refused
    own = UUID(people.admin.user_id)
    error = refused(ledger, AdminLockout, lambda: revoke(ledger, own, people.admin))
    assert "your own access" in error.detail
    assert ledger.authenticate(people.tokens["admin"]) == people.admin


def test_the_last_active_admins_access_may_not_be_revoked(ledger: Ledger, people: People) -> None:
    # Not from the command line either: it would leave no one to manage users over HTTP.
    last = UUID(people.admin.user_id)
    error = refused(ledger, AdminLockout, lambda: revoke(ledger, last, SYSTEM))
    assert "Quản trị" in error.detail and "last active admin" in error.detail
    assert admins(ledger) == ["Quản trị"]


def test_an_admin_may_revoke_another_admin_while_one_remains(
    ledger: Ledger, people: People
) -> None:
    second, second_admin = grant_admin(ledger, "Quản trị 2")
    third, _ = grant_admin(ledger, "Quản trị 3")
    revoke(ledger, second.user_id, people.admin)
    revoke(ledger, third.user_id, people.admin)
    assert admins(ledger) == ["Quản trị"]
    # A revoked admin no longer counts, and revoking it again is a plain invalid transition.
    refused(ledger, InvalidTransition, lambda: revoke(ledger, second.user_id, people.admin))
    refused(ledger, AdminLockout, lambda: revoke(ledger, UUID(people.admin.user_id), SYSTEM))
    # Other roles are revoked as before, the last of their kind included.
    revoke(ledger, UUID(people.viewer.user_id), people.admin)
    revoke(ledger, UUID(people.inspector.user_id), people.admin)
    assert second_admin.role == "admin"


def test_the_guard_is_recorded_in_the_log_beside_each_admin_revocation(
    ledger: Ledger, people: People
) -> None:
    second, _ = grant_admin(ledger, "Quản trị 2")
    before = ledger.position()
    written = revoke(ledger, second.user_id, people.admin)
    # The revocation, and the guard opened then told one admin is left.
    assert written.position == before + 3
    types = [
        ledger.mapper.to_domain_event(e).__class__.__qualname__
        for e in ledger.recorder.select_notifications(before + 1, 10)
    ]
    assert types == ["User.Revoked", "Administrators.Opened", "Administrators.AdminRevoked"]


# -- two admins revoking each other at the same moment -------------------------------------------


def both_revoke_each_other(ledgers: Ledgers, hold: type[HeldWrites]) -> None:
    setup = ledgers.new()
    first, first_admin = grant_admin(setup, "Quản trị A")
    second, second_admin = grant_admin(setup, "Quản trị B")
    racers = [ledgers.new(), ledgers.new()]
    for racer in racers:  # connections open and users cached: they reach the store together
        racer.authenticate(first.token)
        racer.authenticate(second.token)
    # The test holds the store's write lock while both read the admins, so that both have
    # counted two admins before either writes: the guard alone can then turn one back.
    with hold(setup, waiters=2):
        results = race(
            [
                lambda: revoke(racers[0], second.user_id, first_admin),
                lambda: revoke(racers[1], first.user_id, second_admin),
            ]
        )
    won = [r for r in results if isinstance(r, Written)]
    lost = [r for r in results if isinstance(r, AdminLockout)]
    assert (len(won), len(lost)) == (1, 1), results
    assert "last active admin" in lost[0].detail
    assert len(admins(setup)) == 1
    assert raced(ledgers), "the racers never met at the store"


class HeldWrites:
    """Hold the store's write lock (a context manager) until ``waiters`` writers wait for it."""

    def __init__(self, ledger: Ledger, waiters: int) -> None:
        self.ledger, self.waiters = ledger, waiters

    def __enter__(self) -> None:
        raise NotImplementedError

    def __exit__(self, *_: object) -> None:
        raise NotImplementedError


class HeldPostgresLock(HeldWrites):
    """The events table's lock (the one every insert takes), held by another connection and
    let go once ``waiters`` connections are waiting for it."""

    def __enter__(self) -> None:
        self.connection = self.ledger.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(sa.text("SELECT ledger_events_lock()"))
        self.release = threading.Thread(target=self._release_when_waited_for)
        self.release.start()

    def _release_when_waited_for(self) -> None:
        waiting = sa.text(
            "SELECT count(*) FROM pg_locks WHERE NOT granted "
            "AND relation = 'ledger_events'::regclass"
        )
        deadline = time.monotonic() + 30
        with self.ledger.engine.connect() as watcher:
            while time.monotonic() < deadline:
                if watcher.execute(waiting).scalar_one() >= self.waiters:
                    break
                watcher.rollback()
                time.sleep(0.01)
        self.transaction.rollback()
        self.connection.close()

    def __exit__(self, *_: object) -> None:
        self.release.join(timeout=60)


class HeldSqliteLock(HeldWrites):
    """SQLite's write lock (``BEGIN IMMEDIATE``) on another connection, let go after a second:
    SQLite cannot say who waits, and both racers read in milliseconds."""

    def __enter__(self) -> None:
        database = make_url(self.ledger.url).database
        assert database is not None
        self.connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        self.connection.execute("BEGIN IMMEDIATE")
        self.release = threading.Timer(1.0, self._release)
        self.release.start()

    def _release(self) -> None:
        self.connection.execute("ROLLBACK")

    def __exit__(self, *_: object) -> None:
        self.release.join(timeout=60)
        self.connection.close()


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ledger.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_ledgers(sqlite_url: str) -> Iterator[Ledgers]:
    ledgers = Ledgers(sqlite_url)
    yield ledgers
    ledgers.dispose()


@pytest.fixture
def pg_ledgers(pg_url: str) -> Iterator[Ledgers]:
    ledgers = Ledgers(pg_url)
    yield ledgers
    ledgers.dispose()


def test_two_admins_revoking_each_other_at_once_leave_one_admin_on_postgresql(
    pg_ledgers: Ledgers,
) -> None:
    both_revoke_each_other(pg_ledgers, HeldPostgresLock)


def test_two_admins_revoking_each_other_at_once_leave_one_admin_on_sqlite(
    sqlite_ledgers: Ledgers,
) -> None:
    both_revoke_each_other(sqlite_ledgers, HeldSqliteLock)
