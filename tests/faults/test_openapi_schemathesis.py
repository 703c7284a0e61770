"""The served /openapi.json and the server agree: schemathesis draws requests for every
operation from the document (its examples, its boundaries, random ones, and chains of calls
by the links it infers), sends them to the app in process with a real token, and checks every
answer: no server error, every status, media type, header and body as documented, requests
the document takes accepted and those it refuses refused.

A few rules span two query parameters, which JSON Schema cannot say of query parameters; the
document says them in words, and the generator is held to them (:func:`documented`):
``min_position`` not with ``as_known_at``/``as_of``, ``first`` ≤ ``second``, ``position`` ≤
``tree_size``, ``from`` ≤ ``to``, a position or time not beyond the log's last."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from api.app import create_app
from api.openapi import TEXT_FORMATS
from ledger import commands as c
from ledger.checkpoint import init_key
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario
from tests.support.strategies import text

EXAMPLES = 3  # per operation and phase: the whole run stays within a minute per database
for multiline, name in TEXT_FORMATS.items():
    schemathesis.openapi.format(name, text(c.TextRule(64, multiline), max_size=12))


@pytest.fixture
def app(ledger: Ledger, people: People, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LEDGER_SIGNING_KEY", str(tmp_path / "signing.pem"))
    init_key()
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.contracted()
    return create_app(ledger)


def _position(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) else None


def documented(ledger: Ledger, query: dict[str, Any] | None) -> bool:
    """Whether a query keeps the rules the document states in words."""
    q = query or {}
    given = {name for name, value in q.items() if value not in (None, "")}
    if "min_position" in given and given & {"as_known_at", "as_of"}:
        return False
    head = ledger.position()
    numbers = {name: _position(str(q[name])) for name in given}
    if (numbers.get("first") or 0) > (numbers.get("second") or head):
        return False
    if (numbers.get("position") or 0) > (numbers.get("tree_size") or head):
        return False
    if (numbers.get("from") or 0) > (numbers.get("to") or c.LAST_BUDGET_YEAR):
        return False
    known = str(q.get("as_known_at") or "")
    if (_position(known) or 0) > head:
        return False
    if re.match(r"[0-9]{4}-", known):
        try:
            moment = dt.datetime.fromisoformat(known.upper())
        except ValueError:
            return False  # a day the calendar does not have (31 November): refused, as documented
        return moment.tzinfo is None or moment <= dt.datetime.now(dt.UTC)
    return True


def failures(ledger: Ledger, app: Any, token: str, coverage: bool) -> list[str]:
    """Every failed check of a run of schemathesis over the app (none: agreed)."""
    config = SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {"max-examples": EXAMPLES, "deterministic": True},
            "seed": 6374,
            "phases": {"coverage": {"enabled": coverage}, "stateful": {"max-steps": 8}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

    @schema.hook("filter_case")
    def keep_the_documented_rules(_: Any, case: Any) -> bool:
        return documented(ledger, case.query)

    found: list[str] = []
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(
                            f"{event.phase} {event.label}: {check.name}: {failure.title}\n"
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.FatalError | events.NonFatalError):
            found.append(f"{type(event).__name__}: {event}")
    return found


@pytest.fixture(params=["admin", "officer", "finance"])
def role(request: pytest.FixtureRequest) -> Iterator[str]:
    yield str(request.param)


def test_every_operation_answers_as_the_openapi_document_says(
    ledger: Ledger, people: People, app: Any, role: str
) -> None:
    # Each role's token opens the operations it may run; the coverage phase (every boundary
    # and missing part of every request, the run's longest) once per database, as the admin.
    found = failures(ledger, app, people.tokens[role], coverage=role == "admin")
    assert not found, f"{len(found)} failures:\n\n" + "\n\n".join(dict.fromkeys(found))
