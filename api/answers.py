"""What every answer model of the HTTP API shares: the base (``extra="forbid"``, so the
OpenAPI document lists every key an answer has and no other), the schema of a key that is
only sometimes there, the funding split that several answers show, and the figures of a
city-budget line, which mean the same on every read path that shows them.

The models describe the answers; they do not make them. A reader answers plain data
(``api.app`` encodes it as it is), and the OpenAPI document gives each answer its model's
schema (:mod:`api.openapi`), which the schemathesis suite and ``tests/e2e`` hold every answer
to.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: what ``actor_name`` means, beside an event's ``actor`` (its user id) wherever it is shown
ACTOR_NAME = (
    "the actor's name when the event was recorded (a later rename does not change it); null "
    "for a reader who may not read personnel data (only admins and inspectors may), and for an "
    "actor who was no user then"
)
#: what ``department_name`` means, beside an event's ``department`` (its code)
DEPARTMENT_NAME = (
    "the Vietnamese name of department (the actor's department when the event was recorded); "
    "null if the program catalogue lacks the code"
)


class LineFiguresOut(Out):
    """The figures of a city-budget line (or a sum of lines), in đồng."""

    assigned: int = Field(description="assigned by decision, with increases and reductions (net)")
    carried_in: int = Field(
        description="carried over from the year before (chuyển nguồn), committed at once"
    )
    committed: int = Field(description="net of releases; on a closed line, paid + carried out")
    disbursed: int = Field(description="net of reversals")
    recovered: int
    carried_out: int = Field(description="committed but unpaid at the year's close, moved on")
    cancelled: int = Field(description="left uncommitted at the year's close (hủy dự toán)")


class AvailableOut(LineFiguresOut):
    """A line's figures and what is left of it."""

    available: int = Field(description="assigned + carried_in − committed − cancelled")


def without_default(schema: JsonDict) -> None:
    """``json_schema_extra`` of a key an answer has only sometimes: absent otherwise, never
    null. The field is typed ``X | SkipJsonSchema[None] = Field(default=None, …)``: ``None``
    stands for absent, and is neither a type nor the default in the schema."""
    schema.pop("default", None)


class FundingOut(Out):
    """An amount in đồng per funding source; every source is there, 0 if none."""

    city_budget: int
    enterprise: int
    other: int
