"""What every answer model of the HTTP API shares: the base (``extra="forbid"``, so the
OpenAPI document lists every key an answer has and no other), the schema of a key that is
only sometimes there, and the funding split that several answers show.

The models describe the answers; they do not make them. A reader answers plain data
(``api.app`` encodes it as it is), and the OpenAPI document gives each answer its model's
schema (:mod:`api.openapi`), which the schemathesis suite and ``tests/e2e`` hold every answer
to.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import JsonDict


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
