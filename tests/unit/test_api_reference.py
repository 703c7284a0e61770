"""The API reference read from an OpenAPI document (``api/reference.py``): what it says of a
schema, of a body's nested fields and rules across them, and that it refuses to say nothing
of a keyword it does not know."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api import docs
from api.reference import Field, Unreadable, read

PROBLEM_REF = {"$ref": "#/components/responses/NotFound"}


def document() -> dict[str, Any]:
    """A small document in the shape ``api/openapi.py`` writes."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1", "summary": "S", "description": "D"},
        "tags": [{"name": "things"}],
        "paths": {
            "/api/things": {
                "post": {
                    "operationId": "add_thing",
                    "summary": "Add a thing",
                    "tags": ["things"],
                    "x-roles": ["officer"],
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "printable characters",
                            "schema": {"type": "string", "maxLength": 200, "pattern": "^x+$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Add"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Created",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ThingOut"}
                                }
                            },
                        },
                        "404": PROBLEM_REF,
                    },
                },
                "get": {
                    "operationId": "list_things",
                    "summary": "Things",
                    "tags": ["things"],
                    "x-roles": [],
                    "security": [],
                    "parameters": [
                        {
                            "name": "on",
                            "in": "query",
                            "required": False,
                            "description": "an empty value means no filter",
                            "schema": {
                                "type": "string",
                                "format": "date",
                                "pattern": "^2010-01-0[1-9]$",
                                "description": "a day from 2010-01-01 to today",
                            },
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/ThingOut"},
                                    }
                                }
                            },
                        },
                        "404": PROBLEM_REF,
                    },
                },
            }
        },
        "components": {
            "schemas": {
                "Line": {"type": "string", "format": "nscl-text", "maxLength": 500},
                "Add": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["project", "kind", "money"],
                    "properties": {
                        "project": {"type": "string", "enum": ["DA1", "DA2"]},
                        "kind": {"type": "string", "enum": ["a", "b"]},
                        "name": {
                            "anyOf": [{"$ref": "#/components/schemas/Line"}, {"type": "null"}]
                        },
                        "money": {"$ref": "#/components/schemas/Money"},
                        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Money"}},
                    },
                    "allOf": [
                        {
                            "if": {"properties": {"project": {"const": "DA1"}}},
                            "then": {"properties": {"kind": {"enum": ["a"]}}},
                        }
                    ],
                    "anyOf": [
                        {"required": ["name"], "properties": {"name": {"not": {"type": "null"}}}},
                        {"required": ["lines"]},
                    ],
                },
                "Money": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["amount"],
                    "properties": {
                        "amount": {"type": "integer", "exclusiveMinimum": 0, "description": "đồng"}
                    },
                },
                "ThingOut": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "money"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "money": {"$ref": "#/components/schemas/MoneyOut"},
                        "stale": {"type": "boolean", "const": True},
                    },
                },
                "MoneyOut": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["amount"],
                    "properties": {"amount": {"type": "integer"}},
                },
                "Problem": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string", "enum": ["not_found"]}},
                },
            },
            "responses": {
                "NotFound": {
                    "description": "`not_found`: no such thing.",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {field.name: field for field in fields}


def test_a_body_lists_every_field_nested_ones_by_their_path_and_its_rules() -> None:
    reference = read(document())
    add, listing = reference.sections[0].operations
    assert (add.title, add.roles, add.public) == ("POST /api/things", "`officer`", False)
    assert add.body is not None
    fields = by_name(add.body.fields)
    assert list(fields) == ["project", "kind", "name", "money", "money.amount", "lines",
                            "lines[].amount"]  # fmt: skip
    assert fields["money"].kind_text == "object" and fields["money"].required
    assert fields["money.amount"].rules == ("> 0",)
    assert fields["money.amount"].description == "đồng"
    assert fields["lines"].kind_text == "array of objects" and not fields["lines"].required
    assert fields["name"].kind_text == "text (Line) or null"
    assert fields["name"].rules == ("at most 500 characters", "one line")
    assert add.body.rules == (
        'when `project` is `"DA1"`, `kind` is one of `"a"`',
        "at least one of `name`, `lines` is given, and not null",
    )
    # a pattern said in words by a description is not shown; one that is not, is
    (key,) = add.headers
    assert key.rules == ("at most 200 characters",)
    (on,) = listing.query_parameters
    assert on.rules == () and on.description.startswith("a day from 2010-01-01 to today")
    assert listing.roles == "public: no token needed" and listing.public


def test_answers_list_their_fields_and_link_the_models_they_hold() -> None:
    reference = read(document())
    add, listing = reference.sections[0].operations
    assert add.success.status == "201" and add.success.kind[0].text == "ThingOut"
    fields = by_name(listing.success.fields)
    assert [p.text for p in listing.success.kind] == ["array of ", "ThingOut"]
    assert fields["money"].kind[0].anchor == "model-moneyout"
    assert not fields["stale"].required and fields["stale"].rules == ("always `true`",)
    assert [model.name for model in reference.models] == ["MoneyOut"]
    (error,) = add.errors
    assert (error.status, error.codes, error.name) == ("404", ("not_found",), "NotFound")
    assert [e.name for e in reference.error_answers] == ["NotFound"]


@pytest.mark.parametrize(
    "where, keyword",
    [
        (("components", "schemas", "MoneyOut", "properties", "amount"), "multipleOf"),
        (("components", "schemas", "Money", "properties", "amount"), "multipleOf"),
        (("components", "schemas", "Add"), "dependentRequired"),
    ],
)
def test_a_keyword_the_reference_cannot_say_is_an_error(
    where: tuple[str, ...], keyword: str
) -> None:
    changed = copy.deepcopy(document())
    node = changed
    for key in where:
        node = node[key]
    node[keyword] = 5
    with pytest.raises(Unreadable, match=keyword):
        read(changed)


def test_the_markdown_replaces_only_its_part_between_the_markers() -> None:
    text = f"# Contract\n\nprose\n\n{docs.BEGIN}\nSTALE\n{docs.END}\n\nafter\n"
    made = docs.update(text, document())
    assert made.startswith("# Contract\n\nprose\n\n" + docs.BEGIN)
    assert made.endswith(docs.END + "\n\nafter\n") and "STALE" not in made
    assert '<a id="add_thing"></a>' in made and "| `money.amount` | integer | yes | > 0 |" in made
    assert docs.update(made, document()) == made
    with pytest.raises(docs.Unmarked):
        docs.update("# no markers\n", document())
