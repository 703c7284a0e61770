"""What the ledger says to a person, in English or Vietnamese: one catalogue of messages.

A refusal, a command line error, a validation problem is built where it happens as a
:class:`Message`: its English template (the catalogue's key) and its parameters. It *is* its
English text (``Message`` is a ``str``), so whatever shows, logs or compares it as text reads
exactly what it read before there were two languages; the edges (the HTTP problem answers,
the error pages, the command line) call :meth:`Message.render` with the language the person
asked for (``Accept-Language``; ``LC_ALL``/``LC_MESSAGES``/``LANG``).

The Vietnamese is a gettext catalogue, ``ledger/locale/vi/LC_MESSAGES/ledger.po``, read with
Babel: each entry's ``msgid`` is an English template as it is written in the code
(``msgctxt`` marks the entries that are not: the names of a set of codes, :class:`Terms`,
and pydantic's errors by their ``type``, :class:`ValidationMessage`). Why gettext rather
than a table of our own: the English stays at the raise site, where a reader of the code
looks for it; a ``.po`` file is what translators and their tools (Poedit, Weblate, Lokalize)
read and check, placeholders included; and Babel's extractor finds every ``Message("…")`` of
the code, so a test can say which text has no translation. The ``.po`` is read as it is
(no compiled ``.mo`` to build or to go stale), once per process, when a first text is shown
in Vietnamese.

Parameters: a :class:`Message` (a :class:`Term`, a :class:`Joined` list) is rendered in the
same language; a number with a thousands separator (``{count:,}``) is ``1.234`` in
Vietnamese; money is written as ``1.234.567 ₫`` in both (``budget_line.format_vnd``) and a
date as ``dd/mm/yyyy`` (``{day:%d/%m/%Y}``); anything else as it is (a dossier number, a
decision number, a file name).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

Language = Literal["en", "vi"]
#: the languages messages are written in; English is the default (and the catalogue's keys)
LANGUAGES: tuple[Language, ...] = ("en", "vi")
DEFAULT: Language = "en"

#: the Vietnamese catalogue (gettext ``.po``, UTF-8)
CATALOGUE = Path(__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "ledger.po"
#: the ``msgctxt`` of pydantic's errors, keyed by their ``type``
PYDANTIC = "pydantic"
#: the ``msgctxt`` of the details pydantic's parsers add to a date's or a time's error
PYDANTIC_DETAIL = "pydantic detail"


@functools.cache
def vietnamese() -> Mapping[tuple[str | None, str], str]:
    """The Vietnamese catalogue: ``(msgctxt, msgid) -> msgstr``, its translated entries only
    (an empty or fuzzy one is left out, so its English is shown)."""
    from babel.messages.pofile import read_po

    with CATALOGUE.open("rb") as file:
        catalog = read_po(file, locale="vi", charset="utf-8")
    return {
        (entry.context, entry.id): entry.string
        for entry in catalog
        if isinstance(entry.id, str)
        and entry.id
        and isinstance(entry.string, str)
        and entry.string
        and not entry.fuzzy
    }


def translation(msgid: str, language: Language, context: str | None = None) -> str | None:
    """The catalogue's text for ``msgid`` in ``language`` (``None``: it has none)."""
    if language == "en":
        return None
    return vietnamese().get((context, msgid))


def render(text: object, language: Language) -> str:
    """``text`` as shown in ``language``: a :class:`Message` rendered, anything else as is."""
    if isinstance(text, Message):
        return text.render(language)
    return str(text)


class _Formatter(string.Formatter):
    """``str.format`` that renders a parameter that is a :class:`Message` in its language,
    and groups thousands with ``.`` in Vietnamese."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if isinstance(value, Message):
            value = value.render(self.language)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        text = format(value, format_spec)
        if self.language == "vi" and "," in format_spec and isinstance(value, int | float):
            text = text.replace(",", ".")
        return text


_FORMATTERS: dict[Language, _Formatter] = {language: _Formatter(language) for language in LANGUAGES}


def fill(template: str, params: Mapping[str, object], language: Language) -> str:
    """``template`` with ``params``, written for ``language``."""
    return _FORMATTERS[language].vformat(template, (), params)


class Message(str):
    """A text to show a person: its English template and its parameters.

    ``Message("No application with id {id}.", id=x)`` equals the English text; the template
    is the catalogue's key. ``render("vi")`` writes it in Vietnamese (its English when the
    catalogue has no translation)."""

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, /, **params: object) -> Message:
        self = super().__new__(cls, fill(template, params, "en"))
        self.template = template
        self.params = params
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.template,), dict(self.params)

    def render(self, language: Language) -> str:
        if language == "en":
            return str.__str__(self)
        found = translation(self.template, language)
        return fill(found, self.params, language) if found else str.__str__(self)


class Terms:
    """A closed set of codes a message names: an application's statuses, the actions on it,
    the funding sources, … Each code reads as itself in English (or as ``english`` says) and
    as the catalogue's entry ``msgctxt "<name>" msgid "<code>"`` in Vietnamese (or as
    ``vietnamese`` says, for the codes whose names the program catalogue holds). Every set is
    known here (``Terms.every``), so a test can check that each code has its Vietnamese."""

    every: ClassVar[dict[str, Terms]] = {}

    def __init__(
        self,
        name: str,
        codes: Iterable[str],
        *,
        english: Callable[[str], str] = str,
        vietnamese: Callable[[str], str] | None = None,
    ) -> None:
        self.name = name
        self.codes = tuple(codes)
        self.english = english
        self._vietnamese = vietnamese
        Terms.every[name] = self

    def __call__(self, code: str) -> Term:
        return Term(self, code)

    def of(self, codes: Iterable[str], separator: Message) -> Joined:
        """Several codes of the set, joined by ``separator``."""
        return Joined([self(code) for code in codes], separator)

    def name_of(self, code: str, language: Language) -> str | None:
        """The code's name in ``language`` (``None``: the catalogue has none)."""
        if language == "en":
            return self.english(code)
        if self._vietnamese is not None:
            return self._vietnamese(code)
        return translation(code, language, self.name)


class Term(Message):
    """One code of a set of :class:`Terms`, shown by its name."""

    terms: Terms
    code: str

    def __new__(cls, terms: Terms, code: str) -> Term:
        self = str.__new__(cls, terms.english(code))
        self.template, self.params = code, {}
        self.terms, self.code = terms, code
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.terms, self.code), {}

    def render(self, language: Language) -> str:
        return self.terms.name_of(self.code, language) or self.terms.english(self.code)


class Verbatim(Message):
    """A text that reads the same in every language, not the catalogue's: what another
    program said (an operating system's error, a driver's), a value as it was given."""

    def __new__(cls, text: str) -> Verbatim:
        self = str.__new__(cls, text)
        self.template, self.params = text, {}
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (str.__str__(self),), {}

    def render(self, language: Language) -> str:
        return str.__str__(self)


def said(error: BaseException) -> Message:
    """What ``error`` says: the :class:`Message` it was raised with, else its text as is."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, Message) else Verbatim(str(error))


#: the separators of :class:`Joined` lists
COMMA = Message(", ")
OR = Message(" or ")
SEMICOLON = Message("; ")


class Joined(Message):
    """Texts joined by a separator (itself a message: ``, `` or `` or ``)."""

    items: tuple[object, ...]
    separator: Message

    def __new__(cls, items: Sequence[object], separator: Message) -> Joined:
        self = str.__new__(cls, str.__str__(separator).join(render(i, "en") for i in items))
        self.template, self.params = str.__str__(self), {}
        self.items, self.separator = tuple(items), separator
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (self.items, self.separator), {}

    def render(self, language: Language) -> str:
        return self.separator.render(language).join(render(i, language) for i in self.items)


class ValidationMessage(Message):
    """One of pydantic's errors (a dict of ``ValidationError.errors()``, with its ``ctx``).

    In English it is pydantic's ``msg``, exactly. In Vietnamese it is the catalogue's entry
    for its ``type`` (``msgctxt "pydantic"``) filled with its ``ctx``; a ``value_error`` that
    one of the ledger's validators raised with a :class:`Message` is that message."""

    type: str

    def __new__(cls, error: Mapping[str, Any]) -> ValidationMessage:
        self = str.__new__(cls, str(error.get("msg", "")))
        self.type = str(error.get("type", ""))
        self.template, self.params = self.type, dict(error.get("ctx") or {})
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return ({"msg": str.__str__(self), "type": self.type, "ctx": dict(self.params)},), {}

    def render(self, language: Language) -> str:
        if language == "en":
            return str.__str__(self)
        raised = self.params.get("error")
        if isinstance(raised, BaseException) and raised.args:
            said = raised.args[0]
            if isinstance(said, Message):
                return said.render(language)
        found = translation(self.type, language, PYDANTIC)
        if found is None:
            return str.__str__(self)
        params = {name: self._param(name, value, language) for name, value in self.params.items()}
        return fill(found, params, language)

    @staticmethod
    def _param(name: str, value: object, language: Language) -> object:
        if name == "expected" and isinstance(value, str) and " or " in value:
            head, _, last = value.rpartition(" or ")  # "'a', 'b' or 'c'"
            return f"{head}{OR.render(language)}{last}"
        if name == "error" and isinstance(value, str):
            return translation(value, language, PYDANTIC_DETAIL) or value
        if isinstance(value, BaseException):
            return render(value.args[0], language) if value.args else str(value)
        return value


def validation_messages(errors: Iterable[Mapping[str, Any]]) -> list[ValidationMessage]:
    """Pydantic's errors as messages (``errors`` with their ``ctx``)."""
    return [ValidationMessage(error) for error in errors]
