"""What text a command may carry (ledger/commands.py): one rule for every free-text field.

Text may hold letters, marks, numbers, punctuation, symbols and space separators (Unicode
general categories L*, M*, N*, P*, S*, Zs); multi-line text (reasons, notes, reports) also
line feeds and tabs. No other control (Cc), format (Cf), surrogate (Cs), private-use (Co) or
unassigned (Cn) character, no line or paragraph separator (Zl, Zp). Text is trimmed, put in
Unicode NFC, and must hold at least one letter or number.
"""

from __future__ import annotations

import types
import typing
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from api.openapi import text_schema
from ledger import commands as c
from tests.support.strategies import text

LINE = TypeAdapter(c.Line)
PARAGRAPH = TypeAdapter(c.Paragraph)
REFERENCE = TypeAdapter(c.Reference)
ALL = {"line": LINE, "paragraph": PARAGRAPH, "reference": REFERENCE}
RULES = {
    kind: next(m for m in typing.get_args(alias)[1:] if isinstance(m, c.TextRule))
    for kind, alias in (("line", c.Line), ("paragraph", c.Paragraph), ("reference", c.Reference))
}

#: one example of each general category text may hold
ALLOWED = {
    "Lu": "Đ",
    "Ll": "ư",
    "Lt": "ǅ",
    "Lm": "ʰ",
    "Lo": "中",
    "Mn": "\u0301",
    "Mc": "\u0903",
    "Me": "\u20dd",
    "Nd": "7",
    "Nl": "Ⅻ",
    "No": "½",
    "Pc": "_",
    "Pd": "–",
    "Ps": "(",
    "Pe": ")",
    "Pi": "«",
    "Pf": "»",
    "Po": "/",
    "Sm": "±",
    "Sc": "₫",
    "Sk": "^",
    "So": "©",
    "Zs": "\u00a0",
}
#: characters of each category text may not hold
REFUSED = {
    "Cc": ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\r"],
    "Cf": ["\u200b", "\u200c", "\u200d", "\u200e", "\u202e", "\u2060", "\ufeff", "\u00ad"],
    "Cs": ["\ud800"],
    "Co": ["\ue000", "\U000f0000"],
    "Cn": ["\u0378", "\ufffe", "\U0010ffff"],
    "Zl": ["\u2028"],
    "Zp": ["\u2029"],
}


def refused(adapter: TypeAdapter[Any], value: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(value, strict=True)
    return str(caught.value.errors()[0]["msg"])


def test_the_examples_are_of_the_categories_they_stand_for() -> None:
    for category, char in ALLOWED.items():
        assert unicodedata.category(char) == category, char
    for category, chars in REFUSED.items():
        for char in chars:
            assert unicodedata.category(char) == category, hex(ord(char))


@pytest.mark.parametrize("kind", ALL)
def test_text_may_hold_letters_marks_numbers_punctuation_symbols_and_spaces(kind: str) -> None:
    for category, char in ALLOWED.items():
        value = f"a{char}b"
        assert ALL[kind].validate_python(value) == unicodedata.normalize("NFC", value), category


@pytest.mark.parametrize("kind", ALL)
def test_controls_format_private_unassigned_and_separator_characters_are_refused_anywhere(
    kind: str,
) -> None:
    for category, chars in REFUSED.items():
        for char in chars:
            if kind == "paragraph" and char == "\r":
                continue  # a paragraph's line ends are made \n (see below)
            message = refused(ALL[kind], f"Số{char}1")
            if category != "Cs":  # no str holds one: pydantic says so itself
                assert f"U+{ord(char):04X}" in message, (category, message)


@pytest.mark.parametrize("kind", ALL)
def test_text_without_a_letter_or_number_is_refused(kind: str) -> None:
    for value in (
        "\u200b",
        "\u200b\u200c\u200d",
        "\ufeff",
        "\x07\x1b",
        "...",
        "—",
        "₫",
        "\u0301",
        "\u00a0 \u3000",
        "",
        " ",
        "\t\n",
    ):
        message = refused(ALL[kind], value)
        assert message, repr(value)
    assert "letter or number" in refused(ALL[kind], "- / -")


def test_only_multi_line_text_may_hold_line_feeds_and_tabs_inside() -> None:
    assert PARAGRAPH.validate_python("Dòng 1\nDòng 2\tcột") == "Dòng 1\nDòng 2\tcột"
    assert PARAGRAPH.validate_python("Dòng 1\r\nDòng 2\rDòng 3") == "Dòng 1\nDòng 2\nDòng 3"
    for adapter in (LINE, REFERENCE):
        assert "U+000A" in refused(adapter, "Dòng 1\nDòng 2")
        assert "U+0009" in refused(adapter, "a\tb")
    # Around the text, blanks (line breaks included) are trimmed, as before.
    assert LINE.validate_python(" \t Tên \n") == "Tên"


def test_vietnamese_typed_decomposed_is_accepted_and_kept_composed() -> None:
    composed = "Công ty TNHH Thương mại Đức Việt – Hà Nội"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed and len(decomposed) > len(composed)
    for adapter in ALL.values():
        assert adapter.validate_python(decomposed) == composed
    # The length limit counts the composed text: 500 composed characters fit, even when the
    # decomposed form the keyboard sent is longer.
    long = ("Việt " * 100)[:500]
    assert len(unicodedata.normalize("NFD", long)) > 500
    assert LINE.validate_python(unicodedata.normalize("NFD", long)) == long.strip()
    refused(LINE, "x" * 501)
    refused(REFERENCE, "x" * 65)


def _text_types(hint: Any) -> list[Any]:
    """The string types in a field's type hint (``X | None`` looked into)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return [found for arg in typing.get_args(hint) for found in _text_types(arg)]
    if typing.get_origin(hint) is typing.Annotated:
        return [hint] if typing.get_args(hint)[0] is str else []
    return [hint] if hint is str else []


def test_every_free_text_field_of_every_command_is_one_of_the_shared_text_types() -> None:
    shared = {c.Line, c.Paragraph, c.Reference}
    codes = {
        c.TaxCode,
        c.ProjectCode,
        c.SourceCode,
        c.CityBudgetSource,
        c.ChannelCode,
        c.SupportTypeCode,
        c.DepartmentCode,
        c.DistrictCode,
        c.SectorCode,
        c.SizeCode,
        c.TargetCode,
        c.ActivityKind,
        c.RoleCode,
    }
    commands = [
        cls
        for cls in vars(c).values()
        if isinstance(cls, type) and issubclass(cls, c.Command) and cls is not c.Command
    ]
    assert len(commands) >= 23
    texts = set()
    for command in commands:
        for name, hint in typing.get_type_hints(command, include_extras=True).items():
            for found in _text_types(hint):
                assert found in shared | codes, f"{command.__name__}.{name}: {found}"
                if found in shared:
                    texts.add(name)
    assert texts == {
        "name",
        "title",
        "reason",
        "note",
        "report",
        "decision_no",
        "voucher_no",
        "dossier_no",
        "contract_no",
    }


# -- the OpenAPI document names the same rule ---------------------------------------------------


def test_the_openapi_document_names_each_text_type_by_its_format_and_length() -> None:
    for kind, rule in RULES.items():
        schema = text_schema(rule)
        assert schema["maxLength"] == rule.max_length and schema["minLength"] == 1, kind
        assert schema["format"] == ("nscl-multiline-text" if rule.multiline else "nscl-text")
        assert "letter or number" in schema["description"]


TEXTS = st.one_of(*(st.tuples(st.just(kind), text(rule)) for kind, rule in RULES.items()))


@settings(max_examples=300, deadline=None)
@given(example=TEXTS)
def test_text_drawn_as_the_schemathesis_test_draws_it_is_accepted(example: tuple[str, str]) -> None:
    kind, value = example
    ALL[kind].validate_python(value)
