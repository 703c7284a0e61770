"""The people of a test: one user per role, granted through the service."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.service import Ledger


@dataclass(frozen=True)
class People:
    """One user per role, as the ledger knows them (granted through the service)."""

    officer: Actor  # SKHCN officer who submits, appraises, contracts, pays
    approver: Actor  # a second SKHCN officer, who approves
    appraiser: Actor  # a third SKHCN officer
    district_officer: Actor  # officer of a district committee (may not approve)
    finance: Actor
    admin: Actor
    leader: Actor
    inspector: Actor
    viewer: Actor
    tokens: dict[str, str]


def auth(people: People, role: str = "viewer") -> dict[str, str]:
    """The headers of a request made by ``people``'s user of ``role``."""
    return {"Authorization": f"Bearer {people.tokens[role]}"}


def grant(ledger: Ledger, name: str, role: str, department: str) -> tuple[Actor, str]:
    granted = ledger.grant_access(
        c.GrantAccess(name=name, role=role, department=department), SYSTEM
    )
    return ledger.authenticate(granted.token), granted.token


def grant_people(ledger: Ledger) -> People:
    """One user per role, granted on ``ledger`` (the ``people`` fixture, for any ledger)."""
    made: dict[str, tuple[Actor, str]] = {
        "officer": grant(ledger, "Nguyễn Văn An", "officer", "SKHCN"),
        "approver": grant(ledger, "Trần Thị Bình", "officer", "SKHCN"),
        "appraiser": grant(ledger, "Lê Văn Cường", "officer", "SKHCN"),
        "district_officer": grant(ledger, "Phạm Thị Dung", "officer", "QH-CAUGIAY"),
        "finance": grant(ledger, "Hoàng Văn Em", "finance", "STC"),
        "admin": grant(ledger, "Quản trị", "admin", "SKHCN"),
        "leader": grant(ledger, "Vũ Văn Giang", "leader", "UBND"),
        "inspector": grant(ledger, "Đỗ Thị Hà", "inspector", "STC"),
        "viewer": grant(ledger, "Bùi Văn Khánh", "viewer", "SCT"),
    }
    return People(
        **{role: actor for role, (actor, _) in made.items()},
        tokens={role: token for role, (_, token) in made.items()},
    )
