"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

A command's request body is the command's own JSON schema less the path's ids and
``command_id`` (which the server sets); nested models (``$defs``) are lifted into
``components/schemas``. Codes from the program catalogue (projects, sources, support types,
departments, districts, …) are listed as ``enum``s; what the commands' validators check
beyond their JSON schema is written as a ``pattern`` where JSON Schema can say it (tax codes,
effective dates from 2010-01-01 to today); free text (``ledger.commands.TextRule``) is named
once per kind in ``components/schemas`` (``Line``, ``Paragraph``, ``Reference``) by a
``format`` of this API and described in words. Required query parameters are marked so; rules
that span two of them are in their descriptions. Every
operation names its security (bearer, unless public), the roles that may call it
(``x-roles``) and its problem+json error answers.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

from pydantic import BaseModel, TypeAdapter

from api.endpoints import Endpoint
from api.problems import ALL_ERRORS, STATUS_OF_CODE
from ledger import catalogue
from ledger import commands as c
from ledger.checkpoint import KeyProblem
from ledger.enterprise import CORRECTABLE
from ledger.errors import LedgerError, StorageFailed
from ledger.messages import LANGUAGES
from ledger.user import CHANGEABLE

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"

#: the catalogue behind each code type of ``ledger.commands`` (matched by its validator)
_CODE_TYPES: tuple[tuple[Any, Iterable[str]], ...] = (
    (c.ProjectCode, catalogue.PROJECTS),
    (c.SourceCode, catalogue.SOURCES),
    (c.CityBudgetSource, (catalogue.CITY_BUDGET,)),
    (c.ChannelCode, catalogue.CHANNELS),
    (c.SupportTypeCode, catalogue.SUPPORT_TYPES),
    (c.DepartmentCode, catalogue.DEPARTMENTS),
    (c.DistrictCode, catalogue.DISTRICTS),
    (c.SectorCode, catalogue.SECTORS),
    (c.SizeCode, catalogue.SIZES),
    (c.TargetCode, catalogue.TARGETS),
    (c.ActivityKind, catalogue.ACTIVITY_KINDS),
    (c.RoleCode, catalogue.ROLES),
)
_CODES: dict[int, list[str]] = {
    id(marker): list(codes) for alias, codes in _CODE_TYPES for marker in alias.__metadata__
}
_, _TAX_CODE = typing.get_args(c.TaxCode)  # the validators, matched by identity too
_, _EFFECTIVE_DATE = typing.get_args(c.EffectiveDate)

HTTP_CODES = [
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "internal_error",
]


def error_classes(base: type[LedgerError] = LedgerError) -> set[type[LedgerError]]:
    """Every refusal the server may answer with: the contract's codes (README) and its own."""
    found = {*ALL_ERRORS, StorageFailed, KeyProblem}
    for sub in base.__subclasses__():
        found |= {sub} | error_classes(sub)
    return found


PROBLEM_SCHEMAS: dict[str, Any] = {
    "FieldProblem": {
        "type": "object",
        "required": ["loc", "msg"],
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": 'where: ["body", "amount"], ["query", "budget_year"], …',
            },
            "msg": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; `errors` only on a 422.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "one sentence a clerk understands"},
            "code": {
                "type": "string",
                # the table's codes, not those of the errors a process has imported so far
                # (which differ between ``ledger serve`` and a test's app)
                "enum": sorted(set(STATUS_OF_CODE) | set(HTTP_CODES)),
            },
            "errors": {"type": "array", "items": {"$ref": REF.format(model="FieldProblem")}},
        },
        "additionalProperties": False,
    },
}


#: the language of a problem's texts (``api/languages.py``): asked for, and said
ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "`vi` (or `vi-VN`, `vi;q=0.9, en;q=0.8`): a problem's `title`, `detail` "
    "and `errors[].msg` in Vietnamese; English otherwise (`Content-Language` says which).",
    "schema": {"type": "string"},
}
CONTENT_LANGUAGE = {
    "schema": {
        "type": "string",
        "enum": list(LANGUAGES),
        "description": "the language of the problem's texts (see `Accept-Language`)",
    }
}


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"Content-Language": CONTENT_LANGUAGE, **(headers or {})},
        "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


PROBLEM_RESPONSES: dict[str, Any] = {
    "Unauthorized": _problem(
        "`unauthorized`: no bearer token, or an unknown or revoked one.",
        {"WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}},
    ),
    "Forbidden": _problem(
        "`forbidden`: the role may not do this (or, to approve, the department is not SKHCN); "
        "`separation_of_duties`: the approver submitted or appraised the application."
    ),
    "NotFound": _problem(
        "`not_found`: no record with this id, no such address, or a tree size or position "
        "beyond the log."
    ),
    "Conflict": _problem(
        "A domain refusal: `invalid_transition`, `exceeds_requested`, `exceeds_approved`, "
        "`insufficient_budget`, `rule_violation`, `period_closed`, `duplicate`, "
        "`idempotency_key_reused`, `concurrency_conflict` (safe to retry), `admin_lockout` (an "
        "admin revoking its own access, or the last active admin's). Nothing was written."
    ),
    "RebuildInProgress": _problem(
        "`rebuild_in_progress`: a rebuild of this projection is running already (in this "
        "process or another); nothing was started."
    ),
    "PayloadTooLarge": _problem("`payload_too_large`: the body is over 1 MiB."),
    "UnsupportedMediaType": _problem(
        "`unsupported_media_type`: the body is not sent as `application/json` (no "
        "Content-Type, another media type, or a charset other than UTF-8). Nothing was read."
    ),
    "ValidationError": _problem(
        "`validation_error` (malformed JSON, wrong types, missing or unknown fields, "
        "non-positive money, unknown codes) or `funding_split_mismatch`; `errors` says where."
    ),
    "ServerError": _problem("`internal_error`: a fault of the server, logged; nothing to fix."),
    "Unavailable": _problem(
        "The server cannot do it now, whatever was sent; nothing was written: "
        "`storage_unavailable` (the database cannot be reached; `Retry-After` says when to "
        "try again), `storage_failed` (the database did not store the change), "
        "`signing_key_unavailable` (no checkpoint signing key: `ledger keys init`), "
        "`log_has_hole` (the log skips a position not recorded as a hole: `ledger verify`, "
        "`ledger db record-gaps`), `estimate_inputs_unavailable` (a draft estimate's figures "
        "cannot be read from the read models now) or, from `/api/health/ready`, `not_ready`."
    ),
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key with the same body answers the first response again "
    "(same status, same body) and writes nothing new; scoped to the user. 1 to 200 "
    "printable characters (no control characters, no non-breaking or soft-hyphen spaces).",
    # the Latin-1 characters (all a header can carry) that ``str.isprintable`` refuses
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u00a0\\u00ad]+$",
    },
}


def _version() -> str:
    try:
        return metadata.version("nscl-ledger")
    except metadata.PackageNotFoundError:
        return "0.1.0"


# -- schemas -------------------------------------------------------------------------------


def _date_pattern(first: dt.date, last: dt.date) -> str:
    """The ``YYYY-MM-DD`` days from ``first`` (a 1 January) to ``last``, both included.

    Month lengths are left to ``format: date`` (which refuses 2015-02-30).
    """
    assert (first.month, first.day) == (1, 1) and first <= last
    day, month = r"(0[1-9]|[12][0-9]|3[01])", r"(0[1-9]|1[0-2])"
    branches = []
    if last.year > first.year:
        years = "|".join(str(year) for year in range(first.year, last.year))
        branches.append(f"({years})-{month}-{day}")
    if last.month > 1:
        months = "|".join(f"{m:02d}" for m in range(1, last.month))
        branches.append(f"{last.year}-({months})-{day}")
    days = "|".join(f"{d:02d}" for d in range(1, last.day + 1))
    branches.append(f"{last.year}-{last.month:02d}-({days})")
    return "^(" + "|".join(branches) + ")$"


#: the shared text types of ``ledger.commands``, each a schema of ``components/schemas``
TEXT_SCHEMAS: dict[c.TextRule, str] = {
    rule: name
    for name, alias in (("Line", c.Line), ("Paragraph", c.Paragraph), ("Reference", c.Reference))
    for rule in typing.get_args(alias)[1:]
}


#: the ``format`` of each kind of text (a name of this API: JSON Schema's ``pattern`` cannot
#: name Unicode's general categories portably, and the ranges spelled out make a pattern of
#: some 30 kB that generators take minutes to draw from)
TEXT_FORMATS = {False: "nscl-text", True: "nscl-multiline-text"}


def text_schema(rule: c.TextRule) -> dict[str, Any]:
    """The schema of a text type (``components/schemas/<Line|Paragraph|Reference>``)."""
    holds = "letters, marks, numbers, punctuation, symbols and spaces (Unicode general "
    holds += "categories L, M, N, P, S and Zs)"
    if rule.multiline:
        holds += ", line feeds and tabs (a CR LF or lone CR counts as a line feed)"
    return {
        "type": "string",
        "format": TEXT_FORMATS[rule.multiline],
        "minLength": 1,
        "maxLength": rule.max_length,
        "description": f"At most {rule.max_length} characters (in Unicode NFC, as the text "
        f"is kept). Trimmed of the blanks around it, it holds {holds}, at least one a letter "
        "or number: no control (Cc), format (Cf: zero-width, direction marks), surrogate, "
        "private-use or unassigned character, no line or paragraph separator.",
    }


def _keywords(markers: Iterable[Any], today: dt.date) -> dict[str, Any] | None:
    """What a validator of ``ledger.commands`` checks, in JSON Schema (``None``: nothing)."""
    for marker in markers:
        if id(marker) in _CODES:
            return {"enum": _CODES[id(marker)]}
        if marker is _TAX_CODE:
            return {"pattern": "^[0-9]{10}(-[0-9]{3})?$"}
        if marker is _EFFECTIVE_DATE:
            return {
                "pattern": _date_pattern(c.FIRST_DATE, today),
                "description": f"a day from {c.FIRST_DATE.isoformat()} to today",
            }
        if isinstance(marker, c.TextRule):
            return {"$ref": REF.format(model=TEXT_SCHEMAS[marker])}
    return None


def _constrain(prop: dict[str, Any], keywords: dict[str, Any]) -> None:
    if "pattern" in keywords or "$ref" in keywords:  # it bounds the length itself
        prop.pop("minLength", None)
        prop.pop("maxLength", None)
    if "$ref" in keywords:
        prop.pop("type", None)
    prop.update({**keywords, **{k: prop[k] for k in ("description",) if k in prop}})


def _add_code_enums(model: type[BaseModel], properties: dict[str, Any], today: dt.date) -> None:
    """Write the catalogue's codes as ``enum`` where a field takes one, and the other checks
    of the commands' validators as ``pattern``."""
    for name, field in model.model_fields.items():
        prop = properties.get(name)
        if prop is None:
            continue
        keywords = _keywords(field.metadata, today)
        if keywords is not None:
            _constrain(prop, keywords)
            continue
        annotation = field.annotation
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin is dict and args:
            keywords = _keywords(getattr(args[0], "__metadata__", ()), today)
            if keywords is not None:
                prop["propertyNames"] = keywords
        elif origin in (typing.Union, types.UnionType):
            for arg in args:
                keywords = _keywords(getattr(arg, "__metadata__", ()), today)
                if keywords is not None:
                    for branch in prop.get("anyOf", []):
                        if branch.get("type") == "string":
                            _constrain(branch, keywords)


def _lift(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    schemas.update(schema.pop("$defs", {}))
    return schema


#: commands refused unless they give at least one of these fields (not null)
AT_LEAST_ONE: dict[type[BaseModel], tuple[str, ...]] = {
    c.CorrectEnterprise: CORRECTABLE,
    c.ChangeUser: CHANGEABLE,
}


def _body_schema(endpoint: Endpoint, schemas: dict[str, Any], today: dt.date) -> dict[str, Any]:
    model = endpoint.command
    assert model is not None
    schema = _lift(model.model_json_schema(ref_template=REF, mode="validation"), schemas)
    for name in (*endpoint.path_params, "command_id"):
        schema["properties"].pop(name, None)
        if name in schema.get("required", []):
            schema["required"].remove(name)
    _add_code_enums(model, schema["properties"], today)
    for nested in _nested_models(model):  # a legal basis, an estimate's lines, …
        if nested.__name__ in schemas:
            _add_code_enums(nested, schemas[nested.__name__]["properties"], today)
    if {"project", "support_type"} <= set(schema["properties"]):
        schema["allOf"] = _support_types_by_project()
    changeable = AT_LEAST_ONE.get(model)
    if changeable is not None:  # a correction or change that gives no new value is refused
        schema["anyOf"] = [
            {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
            for name in changeable
        ]
    schemas[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _nested_models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The models a command's fields hold (directly, in a list or as an option), recursively."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in typing.get_args(annotation):
            visit(arg)

    for field in model.model_fields.values():
        visit(field.annotation)
    return found


def _support_types_by_project() -> list[dict[str, Any]]:
    """A support type belongs to one project, or to every project (``training``, …)."""
    return [
        {
            "if": {"properties": {"project": {"const": project}}, "required": ["project"]},
            "then": {
                "properties": {
                    "support_type": {"enum": [t.code for t in catalogue.support_types_for(project)]}
                }
            },
        }
        for project in catalogue.PROJECTS
    ]


def _answer_schema(answer: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    if isinstance(answer, type) and issubclass(answer, BaseModel):
        schemas[answer.__name__] = _lift(
            answer.model_json_schema(ref_template=REF, mode="serialization"), schemas
        )
        return {"$ref": REF.format(model=answer.__name__)}
    if typing.get_origin(answer) is list:
        (item,) = typing.get_args(answer)
        return {"type": "array", "items": _answer_schema(item, schemas)}
    return _lift(TypeAdapter(answer).json_schema(ref_template=REF), schemas)


def _query_parameters(model: type[BaseModel], today: dt.date) -> list[dict[str, Any]]:
    properties = model.model_json_schema(mode="validation")["properties"]
    _add_code_enums(model, properties, today)
    required = {
        field.alias or name for name, field in model.model_fields.items() if field.is_required()
    }
    parameters = []
    for name, prop in properties.items():
        branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
        schema = branches[0]
        if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
            schema["pattern"] = "^[^\\u0000]*$"  # NUL is refused (422)
        parameter: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
        if name in required:
            parameter.update(required=True, description=prop.get("description", "required"))
        else:
            parameter.update(
                required=False,
                allowEmptyValue=True,
                description="; ".join(
                    [*filter(None, [prop.get("description")]), "an empty value means no filter"]
                ),
            )
        if name == "min_position" and {"as_known_at", "as_of"} <= set(properties):
            parameter["description"] += (
                "; not with as_known_at or as_of (refused, 422): it waits for the live "
                "report, a past view is replayed from the log"
            )
        parameters.append(parameter)
    return parameters


# -- operations ----------------------------------------------------------------------------


#: the schema of a path parameter by its Starlette convertor
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "int": {"type": "integer", "minimum": 0},
    "str": {"type": "string"},
}


def _path_schema(name: str, convertor: str) -> dict[str, Any]:
    """A path parameter's schema: a budget year's range (as ``ledger.commands.BudgetYear``),
    else its convertor's."""
    if name == "budget_year":
        return {"type": "integer", "minimum": c.FIRST_BUDGET_YEAR, "maximum": c.LAST_BUDGET_YEAR}
    return PATH_SCHEMAS[convertor]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _operation(endpoint: Endpoint, schemas: dict[str, Any], today: dt.date) -> dict[str, Any]:
    roles = "any signed-in user" if endpoint.roles is None else ", ".join(sorted(endpoint.roles))
    who = "No sign-in needed." if endpoint.public else f"Roles: {roles}."
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "description": who,
        "tags": [endpoint.tag],
        "x-roles": (
            [] if endpoint.public else ["*"] if endpoint.roles is None else sorted(endpoint.roles)
        ),
        "security": [] if endpoint.public else [{"bearer": []}],
    }
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name, convertor)}
        for name, convertor in endpoint.path_convertors.items()
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query, today)
    parameters.append(ACCEPT_LANGUAGE)
    if endpoint.command is not None:
        parameters.append(IDEMPOTENCY_KEY)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _body_schema(endpoint, schemas, today)}},
        }
    operation["parameters"] = parameters
    responses: dict[str, Any] = {
        str(endpoint.status): {
            "description": "Created" if endpoint.status == 201 else "OK",
            "content": {
                endpoint.media_type: {"schema": _answer_schema(endpoint.response, schemas)},
                **{
                    other: {"schema": {"type": "string", "format": "binary"}}
                    for other in endpoint.alternatives
                },
            },
        }
    }
    if not endpoint.public:
        responses["401"] = _ref("Unauthorized")
    if endpoint.command is not None or endpoint.roles is not None:
        responses["403"] = _ref("Forbidden")
    responses["404"] = _ref("NotFound")  # an unknown id, a position beyond the log, …
    if endpoint.command is not None:
        responses["409"] = _ref("Conflict")
        responses["413"] = _ref("PayloadTooLarge")
        responses["415"] = _ref("UnsupportedMediaType")
    if endpoint.command is not None or endpoint.query is not None:
        responses["422"] = _ref("ValidationError")
    if endpoint.name == "rebuild_projection":
        responses["409"] = _ref("RebuildInProgress")
    responses["500"] = _ref("ServerError")
    responses["503"] = _ref("Unavailable")
    operation["responses"] = responses
    return operation


@functools.lru_cache(maxsize=4)
def _document(endpoints: Sequence[Endpoint], today: dt.date) -> dict[str, Any]:
    schemas: dict[str, Any] = dict(PROBLEM_SCHEMAS)
    schemas.update({name: text_schema(rule) for rule, name in TEXT_SCHEMAS.items()})
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation = _operation(endpoint, schemas, today)
        paths.setdefault(endpoint.template, {})[endpoint.method.lower()] = operation
    tags = list(dict.fromkeys(endpoint.tag for endpoint in endpoints))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NSCL ledger",
            "version": _version(),
            "summary": "Event-sourced ledger of Hanoi's productivity and quality program "
            "(decision 6374/QĐ-UBND, 2010–2020)",
            "description": "JSON over HTTP, snake_case. Money is an integer number of đồng; "
            "dates are YYYY-MM-DD; ids are UUIDs. Every error is application/problem+json. "
            "A whole number written with a fraction or an exponent (254.0, 2.54e2) is an "
            "integer, as JSON Schema counts it; 254.5 is not.",
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": PROBLEM_RESPONSES,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token printed once by `ledger users add` or "
                    "answered once by POST /api/users.",
                }
            },
        },
    }


def document(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """The OpenAPI document of ``endpoints`` (computed once per table and day: effective
    dates run up to today)."""
    return _document(tuple(endpoints), c.today())
