"""Event-log files made up for the tests of ``ledger import``: as many events as asked, each
line's leaf hash right for it, and a checkpoint signed over them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import checkpoint as cp
from ledger import event_log, merkle


def synthetic_log(
    path: Path, events: int, skip_at: int | None = None
) -> tuple[cp.Checkpoint, bytes]:
    """A file of ``events`` made-up events (their states opaque bytes) with every leaf hash
    right for the position written, and a checkpoint signed over those leaves: from
    ``skip_at`` on, each position is one more than its line's (the file skips a position)."""
    frontier = merkle.Frontier()
    header = {
        "checkpoint": None,
        "events": events,
        "exported_at": "2026-12-06T00:00:00Z",
        "format": event_log.FORMAT,
        "origin": "test",
    }
    with path.open("wb") as out:
        out.write(json.dumps(header).encode() + b"\n")
        for count in range(1, events + 1):
            position = count + 1 if skip_at is not None and count >= skip_at else count
            originator = f"00000000-0000-4000-8000-{count:012d}"
            state = (b"%d" % count) * 40
            data = merkle.leaf_data(originator, 1, position, state, "test:Made.Up")
            leaf = merkle.leaf_hash(data)
            frontier.push(leaf)
            line: dict[str, Any] = {
                "leaf_hash": leaf.hex(),
                "originator_id": originator,
                "originator_version": 1,
                "position": position,
                "state": base64.b64encode(state).decode(),
                "topic": "test:Made.Up",
            }
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    key = Ed25519PrivateKey.generate()
    return cp.sign(key, events, frontier.root()), cp.raw_public(key)
