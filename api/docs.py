"""``docs/api.md``, the HTTP contract: its endpoints written from the OpenAPI document.

The file is prose written by hand (the general rules a client needs) around one generated
part, between :data:`BEGIN` and :data:`END`: every endpoint, answer model, kind of text and
error answer, written by :func:`markdown` from :func:`api.reference.read` of the document
that ``GET /openapi.json`` serves. ``ledger docs api`` (``make docs``) rewrites that part
and nothing else; ``ledger docs api --check`` and ``tests/e2e/test_api_docs.py`` fail when
the committed file differs from what the document makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from api.reference import Answer, Field, Model, Operation, Piece, Reference, read
from ledger.messages import Message

#: where the contract is kept, from the repository's root
PATH = Path("docs") / "api.md"
#: the command that rewrites the generated part (said by the check when it fails)
COMMAND = "make docs (or: ledger docs api)"
BEGIN = (
    "<!-- api-reference:begin. Written by `ledger docs api` (make docs) from the OpenAPI "
    "document; edit api/routes.py and the models, not this part. -->"
)
END = "<!-- api-reference:end -->"


class Unmarked(ValueError):
    """The file lacks the markers of its generated part."""


def cell(text: str) -> str:
    """Text fit for a cell of a Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def kind(pieces: Iterable[Piece]) -> str:
    """A type, its models linked."""
    return "".join(f"[`{p.text}`](#{p.anchor})" if p.anchor else p.text for p in pieces)


def sentence(text: str) -> str:
    return text if not text or text.endswith((".", "?", "!", ")")) else text + "."


def _table(header: tuple[str, ...], rows: Iterable[Iterable[str]]) -> Iterator[str]:
    rows = [[cell(value) for value in row] for row in rows]
    if not rows:
        return
    yield "| " + " | ".join(header) + " |"
    yield "|" + "---|" * len(header)
    for row in rows:
        yield "| " + " | ".join(row) + " |"
    yield ""


def _fields(fields: Iterable[Field], required: str) -> Iterator[str]:
    yield from _table(
        ("name", "type", required, "rules", "description"),
        (
            (
                f"`{f.name}`",
                kind(f.kind),
                "yes" if f.required else "no",
                "; ".join(f.rules),
                f.description,
            )
            for f in fields
        ),
    )


def _answer(answer: Answer) -> Iterator[str]:
    what = "Created" if answer.status == "201" else answer.description
    media = ", or ".join(f"`{m}`" for m in answer.media_types)
    yield f"**Answer** {answer.status} {what}: {media}: {kind(answer.kind)}."
    yield ""
    if answer.fields:
        if answer.kind and answer.kind[0].text == "array of ":
            yield "Each item:"
            yield ""
        yield from _fields(answer.fields, "always there")


def _operation(op: Operation) -> Iterator[str]:
    yield f'<a id="{op.anchor}"></a>'
    yield ""
    yield f"#### `{op.title}`"
    yield ""
    yield sentence(op.summary)
    yield ""
    yield f"**Who may call it:** {op.roles}."
    yield ""
    for title, fields in (
        ("Path parameters", op.path_parameters),
        ("Query parameters", op.query_parameters),
        ("Headers", op.headers),
    ):
        if fields:
            yield f"**{title}**"
            yield ""
            yield from _fields(fields, "required")
    if op.body is not None:
        body = op.body
        yield " ".join(
            filter(
                None,
                [
                    f"**Request body** (`{body.media_type}`, required; `{body.model}`).",
                    sentence(body.description),
                ],
            )
        )
        yield ""
        yield from _fields(body.fields, "required")
        if body.rules:
            yield "Rules across fields:"
            yield ""
            yield from (f"- {cell(rule)}" for rule in body.rules)
            yield ""
    yield from _answer(op.success)
    yield "**Errors** (`application/problem+json`, [`Problem`](#model-problem))"
    yield ""
    yield from _table(
        ("status", "codes"),
        (
            (e.status, ", ".join(f"`{c}`" for c in e.codes) + f" ([{e.name}](#{e.anchor}))")
            for e in op.errors
        ),
    )


def _model(model: Model) -> Iterator[str]:
    yield f'<a id="{model.anchor}"></a>'
    yield ""
    yield f"### `{model.name}`"
    yield ""
    if model.description:
        yield sentence(model.description)
        yield ""
    yield from _fields(model.fields, "always there")


def lines(reference: Reference) -> Iterator[str]:
    """The generated part, line by line."""
    yield "## Endpoints"
    yield ""
    yield (
        f"Written from the OpenAPI {reference.openapi} document of {reference.title} "
        f"{reference.version} (`GET /openapi.json`), as the server's own page `/docs` shows "
        "it. One section per group of the route table; every endpoint with who may call it, "
        "its parameters, its request body (nested fields by their dotted path, `[]` for the "
        "items of a list), its answer and its errors."
    )
    yield ""
    for section in reference.sections:
        yield f"- [{section.tag}](#{section.anchor})"
        for op in section.operations:
            yield f"  - [`{op.title}`](#{op.anchor}): {cell(op.summary)}"
    yield ""
    for section in reference.sections:
        yield f'<a id="{section.anchor}"></a>'
        yield ""
        yield f"### {section.tag}"
        yield ""
        for op in section.operations:
            yield from _operation(op)
    yield "## Answer models"
    yield ""
    yield (
        "The models the answers hold inside them (an answer's own fields are listed at its "
        "endpoint). A field that is not always there is absent when it does not apply, never "
        "null unless its type says so."
    )
    yield ""
    for model in reference.models:
        yield from _model(model)
    yield "## Kinds of text"
    yield ""
    for text in reference.texts:
        yield f'<a id="{text.anchor}"></a>'
        yield ""
        yield f"### `{text.name}`"
        yield ""
        yield sentence(text.description)
        yield ""
    yield "## Error answers"
    yield ""
    yield from _model(reference.problem)
    yield "Every code a problem may carry: " + ", ".join(f"`{c}`" for c in reference.codes) + "."
    yield ""
    for answer in reference.error_answers:
        yield f'<a id="{answer.anchor}"></a>'
        yield ""
        yield f"### {answer.status} {answer.name}"
        yield ""
        yield sentence(answer.description)
        yield ""
        yield from _fields(answer.headers, "always there")


def markdown(document: Mapping[str, Any]) -> str:
    """The generated part of ``docs/api.md`` made from an OpenAPI document."""
    return "\n".join(lines(read(document))).rstrip("\n") + "\n"


def update(text: str, document: Mapping[str, Any]) -> str:
    """``text`` (the file) with its generated part made anew from ``document``."""
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise Unmarked(
            Message(
                "{path} lacks the lines {begin!r} and {end!r} around its generated part",
                path=PATH,
                begin=BEGIN,
                end=END,
            )
        )
    return f"{head}{BEGIN}\n\n{markdown(document)}\n{END}{tail}"
