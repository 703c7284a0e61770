"""Sixteen clients send the same request with the same Idempotency-Key at the same moment.

One of them is carried out; the other fifteen are answered with its answer, and the log grows
by what one request writes, without a hole in the positions (a transaction that loses the race
for the key must not burn a position: the Merkle log would read the hole as a deleted event).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import httpx

from tests.faults.harness import (
    USER_GRANTED,
    LedgerServer,
    Processes,
    assert_ledger_whole,
    assert_positions_contiguous,
    assert_projections_live,
    get_json,
    log_positions,
    stored_values,
)
from tests.support.faults import Database, People

CLIENTS = 16


def send_at_once(
    server: LedgerServer, path: str, body: dict[str, str], token: str, key: str
) -> list[httpx.Response | BaseException]:
    """``CLIENTS`` threads POST the same body with the same key, released together."""
    barrier = threading.Barrier(CLIENTS)
    answers: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * CLIENTS
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}

    def send(n: int) -> None:
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                barrier.wait(timeout=10)
                answers[n] = http.post(path, json=body, headers=headers)
        except BaseException as error:  # noqa: BLE001 - reported below
            answers[n] = error

    threads = [threading.Thread(target=send, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request hung for more than 60 s"
    return answers


ROUNDS = 5


def test_sixteen_concurrent_requests_with_one_key_write_once_and_replay_fifteen_times(
    migrated_database: Database, tokens: People, server: LedgerServer, processes: Processes
) -> None:
    url = migrated_database.url
    warm_up(server, tokens.admin)
    for round_ in range(1, ROUNDS + 1):
        # Step 1: the head of the log before; no hole so far.
        before = get_json(server.base_url, "/api/health")["position"]
        assert assert_positions_contiguous(url) == before

        # Step 2: sixteen copies of one POST /api/users, one key, released at once.
        name = f"Người dùng {uuid.uuid4().hex[:8]}"
        body = {"name": name, "role": "viewer", "department": "SCT"}
        answers = send_at_once(server, "/api/users", body, tokens.admin, uuid.uuid4().hex)
        errors = [repr(a) for a in answers if not isinstance(a, httpx.Response)]
        assert not errors, f"round {round_}: requests failed: {errors}"
        responses = [a for a in answers if isinstance(a, httpx.Response)]
        others = Counter(
            f"{r.status_code} {r.text[:120]}" for r in responses if r.status_code != 201
        )
        assert not others, (
            f"round {round_}: every answer must be 201 (one carried out, the rest replays): "
            f"{others}"
        )

        # Step 3: one carried out (its token shown once), fifteen replays of its answer.
        replayed = [r for r in responses if r.headers.get("idempotent-replayed") == "true"]
        first = [r for r in responses if r.headers.get("idempotent-replayed") != "true"]
        assert (len(first), len(replayed)) == (1, CLIENTS - 1), f"round {round_}"
        original = first[0].json()
        assert original["token"]
        for answer in replayed:
            assert answer.json() == {**original, "token": None}

        # Step 4: the log moved by exactly one event, without a hole; one user of that name.
        head = get_json(server.base_url, "/api/health")["position"]
        count, _, last = log_positions(url)
        assert head - before == 1, (
            f"round {round_}: the head moved by {head - before} for one user granted "
            f"({count} events up to position {last}: {last - count} position(s) burnt by the "
            "requests that lost the race for the key)"
        )
        assert original["position"] == head
        assert stored_values(url, [USER_GRANTED], "name")[name] == 1
        users = get_json(server.base_url, "/api/users", tokens.admin)
        assert [u["id"] for u in users if u["name"] == name] == [original["id"]]

    # Step 5: the ledger is whole, the live projections at the head.
    assert_projections_live(server, tokens.admin)
    assert_ledger_whole(processes, url)


def warm_up(server: LedgerServer, token: str) -> None:
    """A first write and concurrent reads, so that the race is not run against a cold
    server (whose first requests queue behind its start-up work and seldom overlap)."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"name": "Khởi động", "role": "viewer", "department": "SCT"}
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post("/api/users", json=body, headers=headers).status_code == 201
    barrier = threading.Barrier(CLIENTS)

    def read() -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            barrier.wait(timeout=10)
            http.get("/api/users", headers={"Authorization": f"Bearer {token}"})

    threads = [threading.Thread(target=read, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
