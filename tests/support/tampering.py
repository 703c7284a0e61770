"""The log hashed independently of the ledger (RFC 9162 leaves and root, written out here),
and tampering done as a superuser would: plain SQL with the append-only triggers out of the
way (``session_replication_role = replica`` on PostgreSQL; the triggers dropped on SQLite)."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa

from ledger.service import Ledger


def raw_events(url: str) -> list[tuple[int, str, int, str, bytes]]:
    engine = sa.create_engine(url)
    query = "SELECT id, originator_id, originator_version, topic, state FROM ledger_events"
    with engine.connect() as connection:
        rows = connection.execute(sa.text(query + " ORDER BY id")).all()
    engine.dispose()
    return [(int(i), _uuid(o), int(v), t, bytes(s)) for i, o, v, t, s in rows]


def _uuid(value: Any) -> str:
    return str(uuid.UUID(bytes=bytes(value)) if isinstance(value, bytes | memoryview) else value)


def leaf_of(position: int, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """RFC 9162 leaf hash of the canonical JSON, as issue 4 defines it, written out here."""
    data = json.dumps(
        {
            "originator_id": originator_id.lower(),
            "originator_version": version,
            "position": position,
            "state": base64.b64encode(state).decode(),
            "topic": topic,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return hashlib.sha256(b"\x00" + data).digest()


def naive_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def leaves_of(url: str) -> list[bytes]:
    return [leaf_of(p, o, v, t, s) for p, o, v, t, s in raw_events(url)]


#: the kinds of tampering :meth:`Superuser.tamper` does
TAMPERS = ["altered", "missing", "inserted", "reordered"]


class Superuser:
    """Plain SQL on the ledger's database with the append-only triggers out of the way."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        self.postgres = self.engine.dialect.name == "postgresql"
        if not self.postgres:
            with self.engine.begin() as connection:
                for name in ("update", "delete"):
                    connection.execute(sa.text(f"DROP TRIGGER ledger_events_no_{name}"))

    def run(self, *statements: str, **params: Any) -> None:
        with self.engine.begin() as connection:
            if self.postgres:
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                connection.execute(sa.text(statement), params)

    def flip_a_byte(self, position: int) -> None:
        with self.engine.connect() as connection:
            state = bytes(
                connection.execute(
                    sa.text("SELECT state FROM ledger_events WHERE id = :p"), {"p": position}
                ).scalar_one()
            )
        changed = state.replace(b"0", b"9", 1) if b"0" in state else state + b" "
        self.run("UPDATE ledger_events SET state = :s WHERE id = :p", s=changed, p=position)

    def delete(self, position: int) -> None:
        self.run("DELETE FROM ledger_events WHERE id = :p", p=position)

    def tamper(self, kind: str, at: int) -> None:
        """One of :data:`TAMPERS` done at position ``at``."""
        if kind == "altered":
            self.flip_a_byte(at)
        elif kind == "missing":
            self.delete(at)
        elif kind == "inserted":
            self.insert_forged(at)
        else:
            self.swap(at, at + 3)

    def swap(self, a: int, b: int) -> None:
        self.run(
            "UPDATE ledger_events SET id = -1 WHERE id = :a",
            "UPDATE ledger_events SET id = :a WHERE id = :b",
            "UPDATE ledger_events SET id = :b WHERE id = -1",
            a=a,
            b=b,
        )

    def insert_forged(self, position: int) -> str:
        """Move every event from ``position`` on one place later and put a forged event there:
        a copy of the event before it, under a new originator."""
        forged = uuid.uuid4()
        with self.engine.connect() as connection:
            topic, state = connection.execute(
                sa.text("SELECT topic, state FROM ledger_events WHERE id = :p"), {"p": position - 1}
            ).one()
        oid: Any = str(forged) if self.postgres else forged.bytes
        self.run(
            "UPDATE ledger_events SET id = -(id + 1) WHERE id >= :p",
            "UPDATE ledger_events SET id = -id WHERE id < 0",
            "INSERT INTO ledger_events (id, originator_id, originator_version, topic, state) "
            "VALUES (:p, :oid, 1, :topic, :state)",
            p=position,
            oid=oid,
            topic=topic,
            state=bytes(state),
        )
        return str(forged)

    def close(self) -> None:
        self.engine.dispose()


def burn_a_position(superuser: Superuser, ledger: Ledger) -> int:
    """Leave the position after the head empty, as a write rolled back after taking it from
    a sequence did: the next event is stored one position further on (a copy of the first
    event, a user's grant, under a new id). Answer the hole."""
    head = ledger.position()
    with superuser.engine.connect() as connection:
        topic, state = connection.execute(
            sa.text("SELECT topic, state FROM ledger_events WHERE id = 1")
        ).one()
    assert topic.endswith("User.Granted")
    forged = uuid.uuid4()
    oid: Any = str(forged) if superuser.postgres else forged.bytes
    superuser.run(
        "INSERT INTO ledger_events (id, originator_id, originator_version, topic, state) "
        "VALUES (:p, :oid, 1, :topic, :state)",
        p=head + 2,
        oid=oid,
        topic=topic,
        state=bytes(state),
    )
    return head + 1
