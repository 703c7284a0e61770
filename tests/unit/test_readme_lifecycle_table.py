"""README's table of lifecycle steps against the route table: a row for every step of the
enterprises', applications' and activities' records, each with its path, role and status as
served, and an example body its command model takes (the optional fields it names are fields
of the model)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from api.endpoints import Endpoint
from api.routes import ENDPOINTS
from tests.faults.harness import ROOT

TAGS = ("enterprises", "applications", "activities")
BEGIN, END = "<!-- lifecycle-steps:begin -->", "<!-- lifecycle-steps:end -->"


@dataclass(frozen=True)
class Row:
    step: str
    path: str
    roles: set[str]
    status: int
    body: dict[str, Any]
    optional: set[str]


def rows() -> list[Row]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    found = []
    for line in table.strip().splitlines()[2:]:
        step, path, role, status, body = (c.strip() for c in line.strip("| ").split(" | "))
        example = re.match(r"`(\{.*?\})`", body)
        assert example is not None, f"{step}: no example body"
        optional = set(re.findall(r"`(\w+)`", body[example.end() :].split("(")[0]))
        found.append(
            Row(
                step,
                path.strip("`"),
                set(role.split(", ")),
                int(status),
                json.loads(example.group(1)),
                optional,
            )
        )
    return found


def plain(template: str) -> str:
    """A route's path as README writes it: ``{application_id:uuid}`` → ``{id}``."""
    path = re.sub(r"\{(\w+):\w+\}", r"{\1}", template)
    return re.sub(r"\{(application|enterprise|activity)_id\}", "{id}", path)


def steps() -> dict[str, Endpoint]:
    return {
        plain(e.path): e
        for e in ENDPOINTS
        if e.command is not None and e.method == "POST" and e.tag in TAGS
    }


def test_every_step_has_a_row_and_every_row_is_a_step() -> None:
    assert sorted(r.path for r in rows()) == sorted(steps())


def test_each_row_says_the_role_and_status_served() -> None:
    served = steps()
    for row in rows():
        endpoint = served[row.path]
        assert row.roles == set(endpoint.roles or ()), row.step
        assert row.status == endpoint.status, row.step


def test_each_example_body_is_taken_by_its_command_model() -> None:
    served = steps()
    for row in rows():
        command = served[row.path].command
        assert command is not None
        body = {k: (str(uuid.uuid4()) if v == "…" else v) for k, v in row.body.items()}
        path_params = {
            name: uuid.uuid4()
            for name in re.findall(r"\{(\w+):uuid\}", served[row.path].path)
            if name not in body
        }
        command.model_validate_json(json.dumps({**body, **path_params}, default=str))  # or raises
        unknown = row.optional - set(command.model_fields)
        assert not unknown, f"{row.step}: {unknown} are not fields of {command.__name__}"
        required = {n for n, f in command.model_fields.items() if f.is_required()}
        assert required <= set(body) | set(path_params), f"{row.step}: a required field left out"
