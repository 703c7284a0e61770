"""An application's history: every stored event with its RFC 9162 leaf hash and what it
changed in the application's state, on both databases.

The leaf hashes are recomputed here from a raw SELECT of the events table and the canonical
JSON that ``ledger/merkle.py`` documents, without the ledger's Merkle code. The changes are
checked event by event, and folding them from nothing must give back exactly what
``get_application`` answers.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from ledger.errors import NotFound
from ledger.service import Ledger
from tests.support.people import People
from tests.support.story import ADVANCE, CITY, ENTERPRISE, PAYMENT, RECOVERY, Story

KEYS = {
    "position",
    "recorded_at",
    "effective_date",
    "type",
    "actor",
    "actor_name",
    "department",
    "department_name",
    "data",
    "leaf_hash",
    "changes",
}


def stored_rows(ledger: Ledger, application_id: UUID) -> list[dict[str, Any]]:
    """The application's rows of the events table, read with plain SQL."""
    name = ledger.events_table.name
    sql = sa.text(f"SELECT id, originator_id, originator_version, topic, state FROM {name}")
    with ledger.engine.connect() as connection:
        rows = connection.execute(sql).all()
    found = []
    for row in rows:
        raw = row.originator_id
        originator = (
            UUID(bytes=bytes(raw)) if isinstance(raw, bytes | memoryview) else UUID(str(raw))
        )
        if originator == application_id:
            found.append(
                {
                    "position": row.id,
                    "originator_id": originator,
                    "version": row.originator_version,
                    "topic": row.topic,
                    "state": bytes(row.state),
                }
            )
    return sorted(found, key=lambda r: r["version"])


def expected_leaf_hash(row: dict[str, Any]) -> str:
    """SHA-256(0x00 ‖ canonical JSON of the stored event), as ledger/merkle.py documents it."""
    data = json.dumps(
        {
            "originator_id": str(row["originator_id"]),
            "originator_version": row["version"],
            "position": row["position"],
            "state": base64.b64encode(row["state"]).decode(),
            "topic": row["topic"],
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return hashlib.sha256(b"\x00" + data).hexdigest()


ITEM = re.compile(r"^(\w+)\[([0-9a-f-]{36})\](?:\.(\w+))?$")


def fold(changes_per_event: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """The state the changes describe, applied in order from nothing, as the documented
    shape says: ``field``, ``field[<id>]`` (an item added or removed) and
    ``field[<id>].name`` (one value of an item)."""
    state: dict[str, Any] = {}
    for changes in changes_per_event:
        for path, change in changes.items():
            assert set(change) == {"from", "to"}, path
            assert change["from"] != change["to"], f"{path} did not change"
            match = ITEM.match(path)
            if match is None:
                assert state.get(path) == change["from"], path
                state[path] = copy.deepcopy(change["to"])
                continue
            collection, item_id, name = match.groups()
            items = state[collection]
            current = next((i for i in items if i["id"] == item_id), None)
            if name is None:
                assert current == change["from"], path
                if current is not None:
                    items.remove(current)
                if change["to"] is not None:
                    assert change["to"]["id"] == item_id
                    items.append(copy.deepcopy(change["to"]))
            else:
                assert current is not None and current[name] == change["from"], path
                current[name] = copy.deepcopy(change["to"])
    return state


def assert_folds_to(ledger: Ledger, app_id: UUID, changes: list[dict[str, Any]]) -> None:
    """Folding ``changes`` gives what ``get_application`` answers, less its version (every
    event changes it, so no change names it); a field never named is null."""
    state = ledger.get_application(app_id)
    folded = fold(changes)
    assert set(folded) <= set(state) - {"version"}
    assert {k: folded.get(k) for k in state if k != "version"} == {
        k: v for k, v in state.items() if k != "version"
    }


def test_each_entry_carries_its_stored_events_leaf_hash_and_what_it_changed(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()

    # Step 1: an application submitted, appraised, approved, contracted, paid twice; one
    # payment reversed, a recovery ordered and received.
    app_id = story.submit(dossier_no="HS-LICHSU-1").id
    story.appraise(app_id, CITY, ENTERPRISE)
    story.approve_by(people.approver, app_id, CITY, ENTERPRISE)
    contract_no = "HĐ-LICHSU-1"
    story.sign(app_id, contract_no)
    advance_id = story.pay(app_id, ADVANCE, "advance")
    payment_id = story.pay(app_id, PAYMENT)
    story.reverse(app_id, payment_id)
    recovery_id = story.order_recovery(app_id, RECOVERY)
    story.receive_recovery(app_id, recovery_id)

    history = ledger.get_application_history(app_id)
    rows = stored_rows(ledger, app_id)

    # Step 2: one entry per stored event, oldest first, every key of README's HTTP contract kept.
    assert [e["type"] for e in history] == [
        "Submitted",
        "Appraised",
        "Approved",
        "ContractSigned",
        "Disbursed",
        "Disbursed",
        "DisbursementReversed",
        "RecoveryOrdered",
        "RecoveryReceived",
    ]
    assert all(set(entry) == KEYS for entry in history)
    assert [e["position"] for e in history] == [r["position"] for r in rows]

    # Step 3: each leaf hash is the one computed here from the row as stored.
    for entry, row in zip(history, rows, strict=True):
        assert re.fullmatch(r"[0-9a-f]{64}", entry["leaf_hash"])
        assert entry["leaf_hash"] == expected_leaf_hash(row)
    assert len({e["leaf_hash"] for e in history}) == len(history)

    changes = [e["changes"] for e in history]
    # Step 4: the first event brings every field into being, from null.
    first = changes[0]
    assert all(change["from"] is None for change in first.values())
    assert first["status"] == {"from": None, "to": "submitted"}
    assert first["id"] == {"from": None, "to": str(app_id)}
    assert first["dossier_no"] == {"from": None, "to": "HS-LICHSU-1"}
    assert first["requested"] == {
        "from": None,
        "to": {"city_budget": CITY, "enterprise": ENTERPRISE, "other": 0},
    }
    assert first["total_cost"] == {"from": None, "to": CITY + ENTERPRISE}
    assert first["disbursements"] == {"from": None, "to": []}
    assert "recommended" not in first and "approved" not in first  # null to null: no change
    assert "version" not in first

    # Step 5: every later event names exactly what it changed.
    split = {"city_budget": CITY, "enterprise": ENTERPRISE, "other": 0}
    assert changes[1] == {
        "status": {"from": "submitted", "to": "appraised"},
        "recommended": {"from": None, "to": split},
    }
    assert changes[2] == {
        "status": {"from": "appraised", "to": "approved"},
        "approved": {"from": None, "to": split},
        "budget_year": {"from": None, "to": 2015},
        "channel": {"from": None, "to": "science_recurrent"},
        "drawing_year": {"from": None, "to": 2015},
    }
    assert changes[3] == {
        "status": {"from": "approved", "to": "contracted"},
        "contract_no": {"from": None, "to": contract_no},
    }
    advance = history[4]["data"]
    assert changes[4] == {
        "disbursed": {"from": 0, "to": ADVANCE},
        f"disbursements[{advance_id}]": {
            "from": None,
            "to": {
                "id": str(advance_id),
                "kind": "advance",
                "amount": ADVANCE,
                "voucher_no": advance["voucher_no"],
                "reversed": False,
            },
        },
    }
    assert changes[5]["disbursed"] == {"from": ADVANCE, "to": ADVANCE + PAYMENT}
    assert set(changes[5]) == {"disbursed", f"disbursements[{payment_id}]"}
    assert changes[6] == {
        "disbursed": {"from": ADVANCE + PAYMENT, "to": ADVANCE},
        f"disbursements[{payment_id}].reversed": {"from": False, "to": True},
    }
    assert changes[7] == {
        "recovery_ordered": {"from": 0, "to": RECOVERY},
        f"recoveries[{recovery_id}]": {
            "from": None,
            "to": {"id": str(recovery_id), "amount": RECOVERY, "received": False},
        },
    }
    assert changes[8] == {
        "recovered": {"from": 0, "to": RECOVERY},
        f"recoveries[{recovery_id}].received": {"from": False, "to": True},
    }

    # Step 6: the changes are JSON as they stand, and folding them gives back the state
    # that GET /api/applications/{id} shows (less its version, which is not a change).
    assert json.loads(json.dumps(history)) == history
    assert_folds_to(ledger, app_id, changes)


def test_an_event_that_changes_only_the_status_shows_only_the_status(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    app_id = story.submit(dossier_no="HS-LICHSU-2").id
    story.send_back(app_id)
    story.resubmit(app_id)
    story.appraise(app_id, CITY, 0)
    story.send_back(app_id)
    story.resubmit(app_id)  # the recommendation is dropped with the resubmission

    history = ledger.get_application_history(app_id)
    assert [e["changes"] for e in history[1:]] == [
        {"status": {"from": "submitted", "to": "returned"}},
        {"status": {"from": "returned", "to": "submitted"}},
        {
            "status": {"from": "submitted", "to": "appraised"},
            "recommended": {"from": None, "to": {"city_budget": CITY, "enterprise": 0, "other": 0}},
        },
        {"status": {"from": "appraised", "to": "returned"}},
        {
            "status": {"from": "returned", "to": "submitted"},
            "recommended": {"from": {"city_budget": CITY, "enterprise": 0, "other": 0}, "to": None},
        },
    ]
    assert_folds_to(ledger, app_id, [e["changes"] for e in history])
    assert [e["leaf_hash"] for e in history] == [
        expected_leaf_hash(r) for r in stored_rows(ledger, app_id)
    ]


def test_the_history_of_anything_but_an_application_is_not_found(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    enterprise_id = story.enterprise()
    for missing in (enterprise_id, UUID(int=7)):
        with pytest.raises(NotFound):
            ledger.get_application_history(missing)


def test_the_history_is_read_in_one_query_of_the_events_table_and_its_actors_in_one_more(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted()
    story.pay(app_id, ADVANCE, "advance")
    story.pay(app_id, PAYMENT)

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def reads(personnel: bool) -> tuple[list[dict[str, Any]], list[str]]:
        statements.clear()
        sa.event.listen(ledger.engine, "before_cursor_execute", count)
        try:
            history = ledger.get_application_history(app_id, personnel=personnel)
        finally:
            sa.event.remove(ledger.engine, "before_cursor_execute", count)
        return history, [s for s in statements if ledger.events_table.name in s]

    # Without names: the application's events, in one query.
    history, found = reads(personnel=False)
    assert len(history) == 6
    assert len(found) == 1, statements
    # With names: one more, of the actors' own records by their ids (not a scan of the log).
    history, found = reads(personnel=True)
    assert len(history) == 6 and all(e["actor_name"] for e in history)
    assert len(found) == 2, statements
    assert "originator_id IN" in found[1], found[1]
