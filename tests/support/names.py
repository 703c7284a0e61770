"""Fresh names and reference numbers, so that no two records of a test share one."""

from __future__ import annotations

import uuid


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
