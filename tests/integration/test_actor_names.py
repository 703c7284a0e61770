"""Names beside the ids: the audit trail, its XLSX and CSV files and an application's history
show each event's actor by name and department as they were when the event was recorded. A
user renamed or moved later does not rewrite the past, a replay shows the same, and the name
is personnel data: shown only to those who may read it."""

from __future__ import annotations

import io
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.errors import InvalidTransition, NotFound, ValidationFailed
from ledger.people import Person
from ledger.service import Ledger
from projections import audit_trail, evidence
from projections.check import check
from projections.projector import Projector
from projections.replay import replay
from tests.support.evidence import read_csv, read_xlsx
from tests.support.people import People
from tests.support.renames import NEW_NAME, OLD_NAME, Renamed

NAME = "audit_trail"


def every_row(projector: Projector, *, personnel: bool = True) -> list[dict[str, Any]]:
    with projector.reading(NAME) as (connection, tables, _):
        rows, next_page = audit_trail.report(
            connection, tables, page_size=10_000, personnel=personnel
        )
    assert next_page is None
    return rows


@pytest.fixture
def renamed(ledger: Ledger, people: People) -> Renamed:
    """The story, with the audit trail caught up after each step (so the live catch-up reads
    the people it folded before from its table)."""
    projector = Projector(ledger)
    return Renamed(ledger, people, between=lambda: projector.catch_up(NAME)).build()


def test_the_trail_names_each_actor_as_they_were_when_the_event_was_recorded(
    ledger: Ledger, people: People, renamed: Renamed
) -> None:
    projector = Projector(ledger)
    projector.catch_up()
    rows = {row["position"]: row for row in every_row(projector)}
    assert renamed.expected, "the officer recorded events"
    for position, (name, department) in renamed.expected.items():
        row = rows[position]
        assert row["actor"] == renamed.officer_id, row
        assert (row["actor_name"], row["department"]) == (name, department), row
        assert row["department_name"] == catalogue.DEPARTMENTS[department].name_vi
    # every other actor is named too: the admin who made the changes, the finance officer…
    for row in rows.values():
        assert row["actor_name"], row
    changes = [r for r in rows.values() if r["event_type"] == "User.Changed"]
    assert [r["position"] for r in changes] == [renamed.renamed_at, renamed.moved_at]
    assert {r["actor_name"] for r in changes} == {people.admin.name}
    assert f"thành {NEW_NAME}" in changes[0]["summary"] and OLD_NAME in changes[0]["summary"]

    # A reader who may not read personnel data gets every row, ids and departments as before,
    # and no name.
    withheld = every_row(projector, personnel=False)
    assert [r["position"] for r in withheld] == sorted(rows)
    for row in withheld:
        assert row["actor_name"] is None
        assert row["actor"] == rows[row["position"]]["actor"]
        assert row["department_name"] == rows[row["position"]]["department_name"]
    text = repr(withheld)
    assert OLD_NAME not in text and NEW_NAME not in text

    # The projection agrees with a fresh fold, and the ledger with its invariants.
    assert check(ledger, projector) == []


def test_a_replay_and_a_rebuild_name_the_actors_as_the_live_trail_does(
    ledger: Ledger, renamed: Renamed
) -> None:
    projector = Projector(ledger)
    projector.catch_up()
    live = every_row(projector)
    for upto in (renamed.renamed_at - 1, renamed.moved_at, ledger.position()):
        past = replay(ledger, upto_position=upto, names=[NAME])
        try:
            assert every_row(past) == [row for row in live if row["position"] <= upto], upto
        finally:
            past.engine.dispose()
    projector.rebuild(NAME)
    assert every_row(projector) == live


@pytest.mark.parametrize("fmt", evidence.FORMATS)
def test_the_files_name_each_actor_beside_the_id(
    ledger: Ledger, renamed: Renamed, fmt: evidence.Format
) -> None:
    projector = Projector(ledger)
    projector.catch_up()
    for personnel in (True, False):
        out = io.BytesIO()
        evidence.export(projector, out, fmt, personnel=personnel)
        if fmt == "csv":
            _, header, cells = read_csv(out.getvalue())
        else:
            _, header_cells, rows = read_xlsx(out.getvalue())
            header = [cell.value for cell in header_cells]
            cells = [["" if cell.value is None else str(cell.value) for cell in r] for r in rows]
        columns = {title: header.index(title) for title in header}
        actor, name = columns["Người thực hiện"], columns["Họ tên người thực hiện"]
        department, body = columns["Đơn vị"], columns["Tên đơn vị"]
        assert (name, body) == (actor + 1, department + 1), "the names stand beside the codes"
        by_position = {int(row[0]): row for row in cells}
        for position, (expected_name, expected_department) in renamed.expected.items():
            row = by_position[position]
            assert row[actor] == renamed.officer_id
            assert row[department] == expected_department
            assert row[body] == catalogue.DEPARTMENTS[expected_department].name_vi
            assert row[name] == (expected_name if personnel else ""), (personnel, row)
        if not personnel:
            assert all(row[name] == "" for row in cells)


def test_the_history_names_each_actor_as_they_were_then(
    ledger: Ledger, people: People, renamed: Renamed
) -> None:
    assert renamed.application_id is not None
    history = ledger.get_application_history(renamed.application_id)
    assert [e["type"] for e in history] == ["Submitted", "Appraised", "Approved", "ContractSigned"]
    shown = [(e["actor_name"], e["department"], e["department_name"]) for e in history]
    skhcn, sct = (catalogue.DEPARTMENTS[d].name_vi for d in ("SKHCN", "SCT"))
    assert shown == [
        (OLD_NAME, "SKHCN", skhcn),
        (NEW_NAME, "SKHCN", skhcn),
        (people.approver.name, "SKHCN", skhcn),
        (NEW_NAME, "SCT", sct),
    ]
    for entry in history:
        assert (
            renamed.expected.get(entry["position"], (entry["actor_name"],))[0]
            == (entry["actor_name"])
        )
    # the whole register (every user, read by the topics of their events) says the same
    register = ledger.users_register()
    for position, (name, department) in renamed.expected.items():
        person = register.at(renamed.officer_id, position)
        assert person == Person(name, department), position
    without = ledger.get_application_history(renamed.application_id, personnel=False)
    assert [e["actor_name"] for e in without] == [None] * 4
    assert [{k: v for k, v in e.items() if k != "actor_name"} for e in without] == [
        {k: v for k, v in e.items() if k != "actor_name"} for e in history
    ]


def test_the_users_list_shows_who_they_are_now(ledger: Ledger, renamed: Renamed) -> None:
    [officer] = [u for u in ledger.list_users() if u["id"] == renamed.officer_id]
    assert (officer["name"], officer["department"]) == (NEW_NAME, "SCT")


def test_a_change_is_refused_when_it_changes_nothing_names_nobody_or_a_revoked_user(
    ledger: Ledger, people: People
) -> None:
    officer = people.officer
    officer_id = UUID(officer.user_id)
    head = ledger.position()
    with pytest.raises(ValidationFailed):
        ledger.change_user(c.ChangeUser(user_id=officer_id, reason="x"), people.admin)
    same = c.ChangeUser(user_id=officer_id, name=officer.name, reason="x")
    with pytest.raises(InvalidTransition):
        ledger.change_user(same, people.admin)
    nobody = c.ChangeUser(user_id=uuid4(), name="Ai Đó", reason="x")
    with pytest.raises(NotFound):
        ledger.change_user(nobody, people.admin)
    assert ledger.position() == head, "a refused change writes nothing"
    ledger.revoke_access(c.RevokeAccess(user_id=officer_id, reason="Nghỉ hưu"), people.admin)
    head = ledger.position()
    with pytest.raises(InvalidTransition):
        ledger.change_user(c.ChangeUser(user_id=officer_id, name="Ai Đó", reason="x"), SYSTEM)
    assert ledger.position() == head, "a refused change writes nothing"
