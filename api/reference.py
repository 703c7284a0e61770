"""The API reference, read from the OpenAPI document: what ``docs/api.md`` and the ``/docs``
page both show, so neither can say anything the served ``/openapi.json`` does not.

:func:`read` turns the document into plain data: one :class:`Section` per tag (the route
table's groups, in its order), one :class:`Operation` per method and path with its roles,
parameters, request body (every field, nested ones by their dotted path), answer and error
answers; the answers' nested models once each (:class:`Model`); the kinds of text; the
problem details. ``api/docs.py`` writes it as Markdown, ``api/web/templates/api_reference.html``
as HTML.

A schema keyword this module does not know is an error (:class:`Unreadable`), not a silence:
a new kind of constraint in the document must be taught here before the reference can be
made. A ``pattern`` is shown unless a description says it in words (an effective date's
pattern, which runs to today, is said as "a day from 2010-01-01 to today"), so the reference
made from the document is the same every day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCHEMAS = "#/components/schemas/"
RESPONSES = "#/components/responses/"
JSON = "application/json"

#: the formats of this API's kinds of text (``api.openapi.TEXT_FORMATS``)
TEXT_FORMATS = {"nscl-text": "one line", "nscl-multiline-text": "line feeds and tabs allowed"}

#: the schema keywords this reference says (``title`` is pydantic's label of a field: its name)
KNOWN = frozenset(
    {
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "default",
        "description",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "items",
        "maxItems",
        "maxLength",
        "maximum",
        "minItems",
        "minLength",
        "minimum",
        "pattern",
        "properties",
        "propertyNames",
        "required",
        "title",
        "type",
    }
)
#: what a date or time ``format`` is written as
FORMATS = {
    "date": "date (YYYY-MM-DD)",
    "date-time": "date-time (ISO 8601)",
    "uuid": "UUID",
    "binary": "bytes",
    "uri-reference": "URI reference",
}


class Unreadable(ValueError):
    """The document holds something this reference cannot say."""


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of a written type: text, or the name of a model linked to its ``anchor``."""

    text: str
    anchor: str | None = None


@dataclass(frozen=True, slots=True)
class Field:
    """A parameter, a header, a field of a body or of an answer."""

    name: str
    kind: tuple[Piece, ...]
    required: bool
    #: the constraints, each a short phrase (code in backticks)
    rules: tuple[str, ...]
    description: str

    @property
    def kind_text(self) -> str:
        return "".join(piece.text for piece in self.kind)


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer of an operation: its status, what it means, and for a success its body."""

    status: str
    description: str
    media_types: tuple[str, ...]
    kind: tuple[Piece, ...]
    #: the fields of the answer's model (of each item, for a list); empty for other bodies
    fields: tuple[Field, ...]
    headers: tuple[Field, ...]
    #: the problem codes the answer may carry (an error answer)
    codes: tuple[str, ...]
    #: an error answer's name in the document (``Unauthorized``, …) and its anchor
    name: str = ""

    @property
    def anchor(self) -> str:
        return f"error-{slug(self.name)}"


@dataclass(frozen=True, slots=True)
class Body:
    model: str
    description: str
    media_type: str
    fields: tuple[Field, ...]
    #: rules that span fields (a support type of the project's, at least one of …)
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    tag: str
    #: who may call it, in words; ``public``: no token needed
    roles: str
    public: bool
    path_parameters: tuple[Field, ...]
    query_parameters: tuple[Field, ...]
    headers: tuple[Field, ...]
    body: Body | None
    success: Answer
    errors: tuple[Answer, ...]

    @property
    def title(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Section:
    tag: str
    anchor: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    anchor: str
    description: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Reference:
    title: str
    version: str
    openapi: str
    summary: str
    description: str
    authentication: str
    sections: tuple[Section, ...]
    #: the answers' models that other models hold (the top ones are in their operations)
    models: tuple[Model, ...]
    #: the kinds of free text (``Line``, ``Paragraph``, ``Reference``)
    texts: tuple[Model, ...]
    problem: Model
    codes: tuple[str, ...]
    #: every error answer of the document (``Unauthorized``, …)
    error_answers: tuple[Answer, ...]

    @property
    def operations(self) -> Iterator[Operation]:
        for section in self.sections:
            yield from section.operations


def slug(text: str) -> str:
    """An anchor made of ``text``: lowercase letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def model_anchor(name: str) -> str:
    return f"model-{slug(name)}"


def text_anchor(name: str) -> str:
    return f"text-{slug(name)}"


def one_line(text: str | None) -> str:
    """A description on one line (docstrings of the models run over several)."""
    return " ".join((text or "").split())


def literal(value: Any) -> str:
    """A JSON value as code."""
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def codes_list(values: Sequence[Any]) -> str:
    return ", ".join(literal(value) for value in values)


class _Reader:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
        self.texts = {
            name
            for name, schema in self.schemas.items()
            if schema.get("format") in TEXT_FORMATS and schema.get("type") == "string"
        }
        #: the answer models that a field of another answer model holds
        self.nested: set[str] = set()
        #: the status each error answer of ``components/responses`` is given with
        self.statuses: dict[str, str] = {}

    # -- schemas -------------------------------------------------------------------------

    def target(self, ref: str, where: str) -> tuple[str, Mapping[str, Any]]:
        if not ref.startswith(SCHEMAS) or ref[len(SCHEMAS) :] not in self.schemas:
            raise Unreadable(f"{where}: {ref} names no schema of the document")
        name = ref[len(SCHEMAS) :]
        return name, self.schemas[name]

    def check(self, schema: Mapping[str, Any], where: str) -> None:
        unknown = set(schema) - KNOWN
        if unknown:
            raise Unreadable(
                f"{where}: the reference cannot say {sorted(unknown)} (api/reference.py)"
            )

    def kind(
        self, schema: Mapping[str, Any], where: str, *, said: str = ""
    ) -> tuple[tuple[Piece, ...], list[str]]:
        """How a schema is written: its type (pieces, models linked) and its constraints.

        ``said``: a description given beside the schema (a parameter's), which says a
        pattern in words as the schema's own description does."""
        self.check(schema, where)
        rules: list[str] = []
        described = bool(schema.get("description") or said)
        kind: tuple[Piece, ...]
        if "$ref" in schema:
            name, target = self.target(schema["$ref"], where)
            if name in self.texts:
                kind = (Piece("text ("), Piece(name, text_anchor(name)), Piece(")"))
                rules += self.text_rules(target)
            else:
                kind = (Piece(name, model_anchor(name)),)
        elif "anyOf" in schema or "allOf" in schema:
            key = "anyOf" if "anyOf" in schema else "allOf"
            branches = [b for b in schema[key] if b.get("type") != "null"]
            nullable = len(branches) < len(schema[key])
            pieces: list[Piece] = []
            for number, branch in enumerate(branches):
                branch_kind, branch_rules = self.kind(branch, f"{where}/{key}/{number}", said=said)
                if pieces:
                    pieces.append(Piece(" or " if key == "anyOf" else " and "))
                pieces += branch_kind
                rules += branch_rules
                if branch.get("description") and "$ref" not in branch:  # an option's own
                    rules.append(one_line(branch["description"]))
            if nullable:
                pieces.append(Piece(" or null"))
            kind = tuple(pieces)
        else:
            kind, more = self.plain(schema, where, described=described)
            rules += more
        if "default" in schema:
            rules.append(f"default {literal(schema['default'])}")
        return kind, rules

    def plain(
        self, schema: Mapping[str, Any], where: str, *, described: bool
    ) -> tuple[tuple[Piece, ...], list[str]]:
        kind = schema.get("type")
        rules: list[str] = []
        if "const" in schema:
            rules.append(f"always {literal(schema['const'])}")
        if "enum" in schema:
            rules.append(f"one of {codes_list(schema['enum'])}")
        if kind == "string":
            fmt = schema.get("format")
            if fmt in TEXT_FORMATS:
                rules += self.text_rules(schema)
                return (Piece("text"),), rules
            rules += _length(schema, "characters", "minLength", "maxLength")
            if "pattern" in schema and not described:
                rules.append(f"matches `{schema['pattern']}`")
            return (Piece(FORMATS.get(fmt, fmt) if fmt else "string"),), rules
        if kind in ("integer", "number"):
            for key, sign in (
                ("minimum", "≥"),
                ("exclusiveMinimum", ">"),
                ("maximum", "≤"),
                ("exclusiveMaximum", "<"),
            ):
                if key in schema:
                    rules.append(f"{sign} {schema[key]}")
            return (Piece(kind),), rules
        if kind == "boolean":
            return (Piece("boolean"),), rules
        if kind == "array":
            items, item_rules = self.kind(schema.get("items", {}), f"{where}/items")
            rules += _length(schema, "items", "minItems", "maxItems")
            rules += [f"each: {', '.join(item_rules)}"] if item_rules else []
            return (Piece("array of "), *items), rules
        if kind == "object" or "properties" in schema or "additionalProperties" in schema:
            if schema.get("properties"):
                raise Unreadable(f"{where}: an object with properties but no model name")
            if "propertyNames" in schema:
                _, name_rules = self.kind(schema["propertyNames"], f"{where}/propertyNames")
                rules += [f"keys: {', '.join(name_rules)}"] if name_rules else []
            values = schema.get("additionalProperties", True)
            if values is True or values == {}:
                return (Piece("object"),), rules
            if values is False:
                return (Piece("empty object"),), rules
            value_kind, value_rules = self.kind(values, f"{where}/additionalProperties")
            rules += [f"values: {', '.join(value_rules)}"] if value_rules else []
            return (Piece("object of "), *value_kind), rules
        if kind is None and not set(schema) - {"title", "description"}:
            return (Piece("any JSON"),), rules
        if kind is None and ("const" in schema or "enum" in schema):
            values = schema.get("enum", [schema.get("const")])
            types = sorted({type(value).__name__ for value in values})
            return (Piece({"str": "string", "int": "integer"}.get(types[0], types[0])),), rules
        raise Unreadable(f"{where}: the reference cannot say a schema of type {kind!r}")

    def text_rules(self, schema: Mapping[str, Any]) -> list[str]:
        return [
            *_length(schema, "characters", "minLength", "maxLength"),
            TEXT_FORMATS[schema["format"]],
        ]

    def field(
        self, name: str, schema: Mapping[str, Any], required: bool, where: str, *, said: str = ""
    ) -> Field:
        kind, rules = self.kind(schema, where, said=said)
        description = said or schema.get("description", "")
        return Field(name, kind, required, tuple(rules), one_line(description))

    # -- bodies: every field, nested ones by their dotted path --------------------------------

    def body_fields(self, schema: Mapping[str, Any], prefix: str, where: str) -> Iterator[Field]:
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            path = f"{where}/properties/{name}"
            model = self.object_model(prop, path)
            field = self.field(prefix + name, prop, name in required, path)
            if model is None:
                yield field
                continue
            model_name, nested, in_list = model
            kind = "array of objects" if in_list else "object"
            if any(piece.text == " or null" for piece in field.kind):
                kind += " or null"
            rules = tuple(r for r in field.rules if not r.startswith("each: "))
            description = field.description or one_line(nested.get("description"))
            yield Field(field.name, (Piece(kind),), field.required, rules, description)
            child = prefix + name + ("[]." if in_list else ".")
            yield from self.body_fields(nested, child, SCHEMAS + model_name)

    def object_model(
        self, schema: Mapping[str, Any], where: str
    ) -> tuple[str, Mapping[str, Any], bool] | None:
        """The model a body's field holds (itself, in a list, or as an option), if any."""
        for branch in schema.get("anyOf", [schema]):
            in_list = branch.get("type") == "array"
            ref = (branch.get("items", {}) if in_list else branch).get("$ref")
            if ref is not None:
                name, target = self.target(ref, where)
                if name not in self.texts:
                    return name, target, in_list
        return None

    def body_rules(self, schema: Mapping[str, Any], where: str) -> list[str]:
        rules = []
        for number, rule in enumerate(schema.get("allOf", ())):
            rules.append(self.conditional(rule, f"{where}/allOf/{number}"))
        options = schema.get("anyOf")
        if options:
            rules.append(self.at_least_one(options, f"{where}/anyOf"))
        return rules

    def conditional(self, rule: Mapping[str, Any], where: str) -> str:
        """``{"if": {a: const}, "then": {b: enum}}`` in words."""
        try:
            ((when, condition),) = rule["if"]["properties"].items()
            ((then, allowed),) = rule["then"]["properties"].items()
            return (
                f"when `{when}` is {literal(condition['const'])}, `{then}` is one of "
                f"{codes_list(allowed['enum'])}"
            )
        except (KeyError, ValueError, TypeError):
            raise Unreadable(f"{where}: a rule across fields the reference cannot say") from None

    def at_least_one(self, options: Sequence[Mapping[str, Any]], where: str) -> str:
        """``anyOf`` of ``{"required": [a], "properties": {a: {"not": null}}}`` in words."""
        names = []
        for option in options:
            required = option.get("required", [])
            if len(required) != 1 or set(option) - {"required", "properties"}:
                raise Unreadable(f"{where}: a rule across fields the reference cannot say")
            names.append(required[0])
        return f"at least one of {', '.join(f'`{n}`' for n in names)} is given, and not null"

    def body(self, operation: Mapping[str, Any], where: str) -> Body | None:
        request = operation.get("requestBody")
        if request is None:
            return None
        ((media_type, content),) = request["content"].items()
        name, schema = self.target(content["schema"]["$ref"], f"{where}/requestBody")
        if schema.get("additionalProperties") is not False:
            raise Unreadable(f"{where}: a request body open to any field")
        self.check(schema, SCHEMAS + name)
        return Body(
            name,
            one_line(schema.get("description")),
            media_type,
            tuple(self.body_fields(schema, "", SCHEMAS + name)),
            tuple(self.body_rules(schema, SCHEMAS + name)),
        )

    # -- answers --------------------------------------------------------------------------

    def model_fields(self, name: str) -> tuple[Field, ...]:
        schema = self.schemas[name]
        self.check(schema, SCHEMAS + name)
        required = set(schema.get("required", ()))
        fields = []
        for field_name, prop in schema.get("properties", {}).items():
            field = self.field(
                field_name, prop, field_name in required, f"{SCHEMAS}{name}/properties/{field_name}"
            )
            self.nested |= {p.text for p in field.kind if p.anchor == model_anchor(p.text)}
            fields.append(field)
        return tuple(fields)

    def answer(self, status: str, answer: Mapping[str, Any], where: str) -> Answer:
        """An answer; a success's JSON model has its fields listed."""
        codes: tuple[str, ...] = ()
        name = ""
        if "$ref" in answer:
            name = answer["$ref"].removeprefix(RESPONSES)
            answer = self.document["components"]["responses"][name]
            if status:
                self.statuses.setdefault(name, status)
            codes = self.codes_in(answer["description"])
        content = answer.get("content", {})
        kind: tuple[Piece, ...] = ()
        fields: tuple[Field, ...] = ()
        for media_type, body in content.items():
            if media_type in (JSON, "application/problem+json"):
                kind, _ = self.kind(body["schema"], f"{where}/{status}")
                model = _model_of(body["schema"])
                if model is not None and status.startswith("2"):
                    fields = self.model_fields(model)
                    # its fields are listed with the answer: the name links nowhere else
                    kind = tuple(Piece(p.text) if p.text == model else p for p in kind)
        if not kind and content:
            first = next(iter(content.values()))
            kind, _ = self.kind(first["schema"], f"{where}/{status}")
        headers = tuple(
            self.field(name, header["schema"], True, f"{where}/{status}/headers/{name}")
            for name, header in answer.get("headers", {}).items()
        )
        return Answer(
            status,
            one_line(answer["description"]),
            tuple(content),
            kind,
            fields,
            headers,
            codes,
            name,
        )

    def codes_in(self, text: str) -> tuple[str, ...]:
        known = set(self.schemas["Problem"]["properties"]["code"]["enum"])
        return tuple(dict.fromkeys(c for c in re.findall(r"`([a-z_]+)`", text) if c in known))

    # -- operations -----------------------------------------------------------------------

    def operation(self, path: str, method: str, operation: Mapping[str, Any]) -> Operation:
        where = f"#/paths/{path}/{method}"
        roles = operation.get("x-roles", [])
        public = operation.get("security") == []
        who = (
            "public: no token needed"
            if public
            else "any signed-in user"
            if roles == ["*"]
            else ", ".join(f"`{role}`" for role in roles)
        )
        parameters: dict[str, list[Field]] = {"path": [], "query": [], "header": []}
        for number, parameter in enumerate(operation.get("parameters", ())):
            said = parameter.get("description", "")
            inner = parameter["schema"].get("description")
            if inner and said and inner not in said:
                said = f"{inner}; {said}"
            parameters[parameter["in"]].append(
                self.field(
                    parameter["name"],
                    parameter["schema"],
                    parameter.get("required", False),
                    f"{where}/parameters/{number}",
                    said=said or inner or "",
                )
            )
        responses = operation["responses"]
        successes = [status for status in responses if status.startswith("2")]
        if len(successes) != 1:
            raise Unreadable(f"{where}: {len(successes)} success answers, not one")
        return Operation(
            anchor=operation["operationId"],
            method=method.upper(),
            path=path,
            summary=one_line(operation.get("summary")),
            tag=operation["tags"][0],
            roles=who,
            public=public,
            path_parameters=tuple(parameters["path"]),
            query_parameters=tuple(parameters["query"]),
            headers=tuple(parameters["header"]),
            body=self.body(operation, where),
            success=self.answer(successes[0], responses[successes[0]], where),
            errors=tuple(
                self.answer(status, answer, where)
                for status, answer in responses.items()
                if not status.startswith("2")
            ),
        )

    def reference(self) -> Reference:
        document = self.document
        info = document["info"]
        by_tag: dict[str, list[Operation]] = {tag["name"]: [] for tag in document["tags"]}
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                found = self.operation(path, method, operation)
                if found.tag not in by_tag:
                    raise Unreadable(f"#/paths/{path}/{method}: tag {found.tag!r} not listed")
                by_tag[found.tag].append(found)
        sections = tuple(
            Section(tag, f"tag-{slug(tag)}", tuple(operations))
            for tag, operations in by_tag.items()
            if operations
        )
        problem = Model(
            "Problem",
            model_anchor("Problem"),
            one_line(self.schemas["Problem"].get("description")),
            self.model_fields("Problem"),
        )
        responses = document["components"]["responses"]
        errors = tuple(
            self.answer(self.statuses.get(name, ""), {"$ref": RESPONSES + name}, name)
            for name in responses
        )
        models: dict[str, Model] = {}
        while self.nested - set(models):  # a model's fields may name further models
            for name in sorted(self.nested - set(models)):
                schema = self.schemas[name]
                models[name] = Model(
                    name,
                    model_anchor(name),
                    one_line(schema.get("description")),
                    self.model_fields(name),
                )
        texts = tuple(
            Model(name, text_anchor(name), one_line(self.schemas[name].get("description")), ())
            for name in sorted(self.texts)
        )
        bearer = document["components"]["securitySchemes"]["bearer"]
        return Reference(
            title=info["title"],
            version=info["version"],
            openapi=document["openapi"],
            summary=one_line(info.get("summary")),
            description=one_line(info.get("description")),
            authentication=one_line(bearer.get("description")),
            sections=sections,
            models=tuple(models[name] for name in sorted(models)),
            texts=texts,
            problem=problem,
            codes=tuple(self.schemas["Problem"]["properties"]["code"]["enum"]),
            error_answers=errors,
        )


def _length(schema: Mapping[str, Any], unit: str, low: str, high: str) -> list[str]:
    if low in schema and high in schema:
        return [f"{schema[low]} to {schema[high]} {unit}"]
    if high in schema:
        return [f"at most {schema[high]} {unit}"]
    if low in schema and schema[low] > 0:
        return [f"at least {schema[low]} {unit}"]
    return []


def _model_of(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    return ref.removeprefix(SCHEMAS) if ref else None


def read(document: Mapping[str, Any]) -> Reference:
    """The reference of an OpenAPI document (as ``GET /openapi.json`` answers it)."""
    return _Reader(document).reference()
