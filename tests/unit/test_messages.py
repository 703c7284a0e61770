"""One catalogue of messages (``ledger/messages.py``, ``ledger/locale/vi/LC_MESSAGES/ledger.po``):
every text the code can show has its Vietnamese, with the same placeholders; the catalogue
holds nothing the code does not say; every refusal's code has a title in both languages."""

from __future__ import annotations

import ast
import datetime as dt
import pickle
import string
from http import HTTPStatus
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pydantic_core import _pydantic_core as pydantic_core

import api.app
import api.cli
from api.openapi import error_classes
from api.problems import HTTP_CODES, HTTP_TITLES, SERVER_ERROR, STATUS_OF_CODE
from ledger.budget_line import format_vnd
from ledger.errors import LedgerError
from ledger.messages import (
    CATALOGUE,
    PYDANTIC,
    PYDANTIC_DETAIL,
    Joined,
    Message,
    Terms,
    ValidationMessage,
    translation,
)
from ledger.support_application import ACTION, STATUS

assert api.app and api.cli  # imported for the sets of codes (Terms) their modules name

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("ledger", "api", "projections", "demo")


def code_texts() -> dict[str, str]:
    """Every ``Message("…")`` of the code, as Babel's extractor finds it: text -> where."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for filename, line, text, _, _ in extract_from_dir(
            str(ROOT / folder), method_map=[("**.py", "python")], keywords={"Message": None}
        ):
            assert isinstance(text, str)  # no plural forms
            found.setdefault(text, f"{folder}/{filename}:{line}")
    return found


def catalogue() -> list[tuple[str | None, str, str, bool]]:
    """The ``.po`` as it is: (msgctxt, msgid, msgstr, fuzzy) of every entry but the header."""
    with CATALOGUE.open("rb") as file:
        read = read_po(file, locale="vi")
    return [
        (entry.context, str(entry.id), str(entry.string), entry.fuzzy) for entry in read if entry.id
    ]


def placeholders(template: str) -> set[tuple[str, str | None, str]]:
    return {
        (name, conversion, spec or "")
        for _, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    }


def test_every_message_of_the_code_is_a_literal_the_extractor_can_read() -> None:
    """A ``Message`` made from a variable or an f-string would have no catalogue entry."""
    unreadable = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "Message"
                    and not (
                        node.args
                        and isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)
                    )
                ):
                    unreadable.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unreadable == []


def test_every_text_of_the_code_has_its_vietnamese_with_the_same_placeholders() -> None:
    texts = code_texts()
    assert len(texts) > 250
    entries = {
        msgid: (msgstr, fuzzy) for context, msgid, msgstr, fuzzy in catalogue() if not context
    }
    untranslated = [
        f"{where}: {text!r}"
        for text, where in texts.items()
        if not entries.get(text, ("", True))[0] or entries[text][1]
    ]
    assert untranslated == []
    mismatched = [text for text in texts if placeholders(entries[text][0]) != placeholders(text)]
    assert mismatched == []


def test_the_catalogue_holds_no_text_the_code_does_not_say() -> None:
    texts = code_texts()
    contexts = set(Terms.every) | {PYDANTIC, PYDANTIC_DETAIL}
    entries = catalogue()
    assert [
        msgid for context, msgid, _, _ in entries if context is None and msgid not in texts
    ] == []
    assert {context for context, *_ in entries if context is not None} <= contexts
    for name, terms in Terms.every.items():
        assert {msgid for context, msgid, *_ in entries if context == name} == set(terms.codes), (
            name
        )


def test_every_code_a_message_names_has_its_vietnamese() -> None:
    missing = [
        (name, code)
        for name, terms in Terms.every.items()
        for code in terms.codes
        if not terms.name_of(code, "vi")
    ]
    assert missing == []
    assert STATUS("acceptance_failed").render("vi") == "nghiệm thu không đạt"
    assert ACTION("sign a contract for").render("en") == "sign a contract for"


def test_every_error_pydantic_can_report_has_its_vietnamese_by_type() -> None:
    for error in pydantic_core.list_all_errors():
        vietnamese = translation(error["type"], "vi", PYDANTIC)
        assert vietnamese, error["type"]
        english = placeholders(error["message_template_python"])
        assert placeholders(vietnamese) <= english, error["type"]


def test_every_refusal_code_has_an_english_and_a_vietnamese_title() -> None:
    classes = error_classes()
    assert {cls.code for cls in classes} >= set(STATUS_OF_CODE) - {"ledger_error"}
    for cls in classes | {LedgerError}:
        assert isinstance(cls.title, Message), cls
        english, vietnamese = cls.title.render("en"), cls.title.render("vi")
        assert english == str(cls.title) and vietnamese and vietnamese != english, cls
    for status, code in HTTP_CODES.items():
        title = HTTP_TITLES[status]
        assert title.render("en") == HTTPStatus(status).phrase, code
        assert title.render("vi") != title.render("en"), code
    assert SERVER_ERROR.render("vi") == "Lỗi máy chủ"


def test_a_message_is_its_english_text_and_is_written_in_vietnamese_on_demand() -> None:
    message = Message(
        "Cannot {action} application {dossier_no}: it is {status}; that needs it to be {allowed}.",
        action=ACTION("approve"),
        dossier_no="HS-2015/001",
        status=STATUS("submitted"),
        allowed=STATUS.of(["appraised"], Message(", ")),
    )
    english = (
        "Cannot approve application HS-2015/001: it is submitted; that needs it to be appraised."
    )
    assert message == english and str(message) == english and type(str(message)) is str
    assert message.render("vi") == (
        "Không thể phê duyệt hồ sơ HS-2015/001: hồ sơ đang ở trạng thái đã nộp, trong khi "
        "việc này cần hồ sơ ở trạng thái đã thẩm định."
    )
    assert pickle.loads(pickle.dumps(message)).render("vi") == message.render("vi")


def test_numbers_group_thousands_with_dots_in_vietnamese_and_money_reads_the_same() -> None:
    counted = Message("the log holds {count:,} events, not {upto:,}", count=12345, upto=7)
    assert counted == "the log holds 12,345 events, not 7"
    assert counted.render("vi") == "sổ cái có 12.345 sự kiện, không phải 7"
    paid = Message(
        "Paying {amount} would pass the approved city-budget share of {approved}: {room} remains.",
        amount=format_vnd(1_234_567),
        approved=format_vnd(1_000_000),
        room=format_vnd(0),
    )
    assert paid.render("vi") == (
        "Thanh toán 1.234.567 ₫ sẽ vượt phần ngân sách thành phố đã phê duyệt là 1.000.000 ₫: "
        "chỉ còn 0 ₫."
    )
    dated = Message(
        "An approval is decided in its budget year: {budget_year}, not {decided_on:%d/%m/%Y}.",
        budget_year=2015,
        decided_on=dt.date(2016, 1, 2),
    )
    assert dated.render("vi").endswith("năm 2015, không phải ngày 02/01/2016.")


def test_a_joined_list_joins_with_the_words_of_its_language() -> None:
    either = Joined(["A", "B"], Message(" or "))
    assert (either, either.render("vi")) == ("A or B", "A hoặc B")


@pytest.mark.parametrize(
    ("error", "english", "vietnamese"),
    [
        (
            {"type": "missing", "msg": "Field required", "ctx": None},
            "Field required",
            "Thiếu trường bắt buộc",
        ),
        (
            {"type": "greater_than", "msg": "Input should be greater than 0", "ctx": {"gt": 0}},
            "Input should be greater than 0",
            "Giá trị phải lớn hơn 0",
        ),
        (
            {
                "type": "literal_error",
                "msg": "Input should be 'passed' or 'failed'",
                "ctx": {"expected": "'passed' or 'failed'"},
            },
            "Input should be 'passed' or 'failed'",
            "Giá trị phải là 'passed' hoặc 'failed'",
        ),
        (
            {
                "type": "value_error",
                "msg": "Value error, give a date as YYYY-MM-DD",
                "ctx": {"error": ValueError(Message("give a date as YYYY-MM-DD"))},
            },
            "Value error, give a date as YYYY-MM-DD",
            "hãy ghi ngày theo dạng YYYY-MM-DD",
        ),
        (
            {
                "type": "date_from_datetime_parsing",
                "msg": "Input should be a valid date or datetime, input is too short",
                "ctx": {"error": "input is too short"},
            },
            "Input should be a valid date or datetime, input is too short",
            "Giá trị phải là một ngày hoặc thời điểm hợp lệ: dữ liệu quá ngắn",
        ),
    ],
    ids=["missing", "greater-than", "literal", "our-value-error", "date-detail"],
)
def test_pydantic_errors_keep_their_english_and_are_translated_by_type(
    error: dict[str, object], english: str, vietnamese: str
) -> None:
    message = ValidationMessage(error)
    assert (message, message.render("en"), message.render("vi")) == (english, english, vietnamese)
