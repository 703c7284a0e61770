"""The inspectors' endpoints over HTTP: public key, checkpoints, proofs, verification.

Every proof the server gives is checked here with the plain RFC 9162 verification written
in the test's own terms (``ledger.merkle``'s verifiers are checked against a naive reading
of the RFC in ``tests/unit/test_merkle.py``), against the roots of signed checkpoints.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.testclient import TestClient

from api.app import create_app
from ledger import checkpoint as cp
from ledger import merkle
from ledger.service import Ledger
from tests.support.people import People, auth
from tests.support.story import Story


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    monkeypatch.setenv("LEDGER_SIGNING_KEY", str(path))
    monkeypatch.setenv("LEDGER_ORIGIN", "test.nscl/log")
    cp.init_key()
    return path


@pytest.fixture
def client(ledger: Ledger, key_file: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ledger)) as client:
        yield client


def test_the_key_file_is_private_and_never_overwritten(key_file: Path) -> None:
    assert key_file.stat().st_mode & 0o777 == 0o600
    before = key_file.read_bytes()
    with pytest.raises(cp.KeyProblem, match="never overwritten"):
        cp.init_key()
    assert key_file.read_bytes() == before


def test_checkpoints_and_proofs_verify_with_the_published_key(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)

    # Step 1: anyone reads the public key; it is the 32 raw bytes of an Ed25519 key.
    published = client.get("/api/audit/public-key")
    assert published.status_code == 200, published.text
    info = published.json()
    assert info["algorithm"] == "Ed25519"
    raw = base64.b64decode(info["public_key"])
    assert len(raw) == 32 and info["key_id"] == cp.key_id(raw, "test.nscl/log")

    # Step 2: an inspector makes a checkpoint; it is signed over its C2SP body.
    made = client.post("/api/audit/checkpoints", headers=auth(people, "inspector"))
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["tree_size"] == ledger.count_events()
    assert first["origin"] == "test.nscl/log"
    root = bytes.fromhex(first["root_hash"])
    assert first["body"] == (
        f"test.nscl/log\n{first['tree_size']}\n{base64.b64encode(root).decode()}\n"
    )
    Ed25519PublicKey.from_public_bytes(raw).verify(
        base64.b64decode(first["signature"]), first["body"].encode()
    )

    # Step 3: more is written; finance makes a second checkpoint; both are listed.
    story.settled(city=20_000_000, paid=20_000_000)
    second = client.post("/api/audit/checkpoints", headers=auth(people, "finance")).json()
    listed = client.get("/api/audit/checkpoints", headers=auth(people, "viewer"))
    assert listed.json() == [first, second]

    # Step 4: every event's inclusion proof checks against the second checkpoint's root.
    size, second_root = second["tree_size"], bytes.fromhex(second["root_hash"])
    for position in range(1, size + 1):
        proof = client.get(
            "/api/audit/proofs/inclusion",
            params={"position": position, "tree_size": size},
            headers=auth(people, "viewer"),
        ).json()
        assert (proof["leaf_index"], proof["tree_size"]) == (position - 1, size)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        leaf = bytes.fromhex(proof["leaf_hash"])
        assert merkle.verify_inclusion(position - 1, size, leaf, path, second_root)

    # Step 5: the consistency proof between the two checkpoints checks.
    answer = client.get(
        "/api/audit/proofs/consistency",
        params={"first": first["tree_size"], "second": size},
        headers=auth(people, "viewer"),
    ).json()
    proof = [bytes.fromhex(h) for h in answer["proof"]]
    assert merkle.verify_consistency(first["tree_size"], size, root, second_root, proof)

    # Step 6: a report as known at the first checkpoint names the root it was replayed
    # from: the checkpoint's.
    past = client.get(
        "/api/reports/project-spend",
        params={"as_known_at": first["tree_size"]},
        headers=auth(people, "inspector"),
    ).json()
    assert past["view"]["position"] == first["tree_size"]
    assert past["view"]["root_hash"] == first["root_hash"]

    # Step 7: the inspector verifies the whole log: clean.
    verified = client.get("/api/audit/verify", headers=auth(people, "inspector"))
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body == {
        "ok": True,
        "checked": ledger.count_events(),
        "root_hash": body["root_hash"],
        "problems": [],
    }


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/audit/checkpoints"), ("GET", "/api/audit/verify")]
)
@pytest.mark.parametrize("role", ["viewer", "officer", "admin"])
def test_only_inspectors_and_finance_make_checkpoints_and_verify(
    client: TestClient, people: People, method: str, path: str, role: str
) -> None:
    answer = client.request(method, path, headers=auth(people, role))
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("path", "params", "names"),
    [
        ("/api/audit/proofs/inclusion", {"position": "0"}, "position"),
        ("/api/audit/proofs/inclusion", {"position": "x"}, "position"),
        ("/api/audit/proofs/inclusion", {}, "position"),
        ("/api/audit/proofs/inclusion", {"position": "5", "tree_size": "3"}, "tree_size"),
        ("/api/audit/proofs/consistency", {"first": "5", "second": "3"}, "second"),
        ("/api/audit/proofs/consistency", {"first": "1"}, "second"),
        ("/api/audit/proofs/consistency", {"first": "1", "second": "2", "x": "1"}, "x"),
    ],
)
def test_bad_proof_requests_are_refused_naming_the_parameter(
    client: TestClient, people: People, path: str, params: dict[str, str], names: str
) -> None:
    answer = client.get(path, params=params, headers=auth(people, "viewer"))
    assert answer.status_code == 422, answer.text
    assert names in answer.text


def test_a_proof_beyond_the_log_is_not_found(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    beyond = ledger.count_events() + 5
    answer = client.get(
        "/api/audit/proofs/consistency",
        params={"first": 1, "second": beyond},
        headers=auth(people, "viewer"),
    )
    assert answer.status_code == 404, answer.text
    assert f"{ledger.count_events():,} events" in answer.json()["detail"]


def test_without_a_signing_key_the_server_says_how_to_make_one(
    ledger: Ledger, people: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_SIGNING_KEY", str(tmp_path / "absent.pem"))
    with TestClient(create_app(ledger)) as client:
        answer = client.post("/api/audit/checkpoints", headers=auth(people, "inspector"))
        assert answer.status_code == 503, answer.text
        assert "ledger keys init" in answer.json()["detail"]
        assert client.get("/api/audit/public-key").status_code == 503
