"""What a row of the route table is (``api/routes.py`` holds the table itself).

An :class:`Endpoint` says the method, the path, what runs (a command of ``ledger.commands``
or a reader), who may call it and the status and model of a success; :func:`command` and
:func:`query` make rows. The dispatch (``api.app``) and the OpenAPI document
(``api.openapi``) both read the same rows, so they cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.answers import Out
from api.read_side import ReadSide
from ledger.access import PERMISSIONS, Actor
from ledger.commands import Command
from ledger.service import Ledger, Written

#: A reader: (the app's read side: its ledger, projector and replay cache; the path's
#: parameters, the parsed query, who reads: ``None`` on a public address) → the answer.
Reader = Callable[[ReadSide, Mapping[str, Any], Any, Actor | None], Any]
#: Work to do before a command's unit of work, in the same thread: (the ledger, the command)
#: → a context the command then runs in (the draft estimate reads its figures in it).
Preparer = Callable[[Ledger, Any], AbstractContextManager[None]]
#: A command's answer: (the body sent now, the body stored for an idempotent replay).
Answerer = Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]

JSON = "application/json"
HTML = "text/html"


class WrittenOut(Out):
    """What a successful command answers."""

    id: UUID = Field(description="id of the record written (or created)")
    position: int = Field(description="global position of the last event written")


def _written(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    assert isinstance(result, Written)
    body = {"id": str(result.id), "position": result.position}
    return body, body


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: Literal["GET", "POST"]
    path: str
    summary: str
    tag: str
    name: str
    status: int = 200
    command: type[Command] | None = None
    read: Reader | None = None
    #: roles that may call it; ``None``: any valid token (or none at all when ``public``)
    roles: frozenset[str] | None = None
    public: bool = False
    query: type[BaseModel] | None = None
    response: Any = WrittenOut
    answer: Answerer = _written
    media_type: str = JSON
    prepare: Preparer | None = None
    #: other media types the answer may take (a report's XLSX with ``format=xlsx``)
    alternatives: tuple[str, ...] = ()

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(re.findall(r"{(\w+)(?::\w+)?}", self.path))

    @property
    def path_convertors(self) -> dict[str, str]:
        """Each path parameter's Starlette convertor (``uuid``, ``int``, ``str``)."""
        return {
            name: convertor or "str"
            for name, convertor in re.findall(r"{(\w+)(?::(\w+))?}", self.path)
        }

    @property
    def template(self) -> str:
        """The path as OpenAPI writes it (``{application_id}``, no convertor)."""
        return re.sub(r"{(\w+):\w+}", r"{\1}", self.path)


def command(
    method: Literal["POST"],
    path: str,
    cmd: type[Command],
    summary: str,
    tag: str,
    status: int = 200,
    *,
    response: Any = WrittenOut,
    answer: Answerer = _written,
    prepare: Preparer | None = None,
) -> Endpoint:
    """A row that carries ``cmd`` to the service method named by its action."""
    action = cmd.action
    if action not in PERMISSIONS or not callable(getattr(Ledger, action, None)):
        raise LookupError(f"No service method or permission for command {cmd.__name__}")
    fields = set(cmd.model_fields)
    params = re.findall(r"{(\w+)(?::\w+)?}", path)
    if not set(params) <= fields:
        raise LookupError(f"{path}: path parameters {params} are not fields of {cmd.__name__}")
    return Endpoint(
        method,
        path,
        summary,
        tag,
        action,
        status,
        command=cmd,
        roles=PERMISSIONS[action],
        response=response,
        answer=answer,
        prepare=prepare,
    )


def query(
    path: str,
    name: str,
    read: Reader,
    summary: str,
    tag: str,
    response: Any,
    *,
    roles: frozenset[str] | None = None,
    public: bool = False,
    params: type[BaseModel] | None = None,
    media_type: str = JSON,
    alternatives: tuple[str, ...] = (),
) -> Endpoint:
    return Endpoint(
        "GET",
        path,
        summary,
        tag,
        name,
        read=read,
        roles=roles,
        public=public,
        query=params,
        response=response,
        media_type=media_type,
        alternatives=alternatives,
    )


@dataclass(frozen=True, slots=True)
class Download:
    """A reader's answer that is a file to save: ``api.app`` sends ``file`` (open, binary, read
    from its start and closed once sent) as an attachment named ``filename``."""

    file: IO[bytes]
    filename: str
    media_type: str
