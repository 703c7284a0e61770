"""Which language an answer is written in: ``Accept-Language`` (RFC 9110 §12.5.4) for the
HTTP API, the locale's environment variables for the command line.

The API answers its problems (``api/problems.py``) in English or Vietnamese
(``ledger/messages.py``). A language range names one by its primary subtag (``vi``,
``vi-VN`` and ``vi_VN`` are Vietnamese; ``en-GB`` is English); ``*`` stands for any language
not named otherwise. The language with the highest quality wins, a tie goes to the one named
first; a header that names neither (or none, or one that cannot be read) gets English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.requests import Request

from ledger.messages import DEFAULT, LANGUAGES, Language

#: one language range of the header and its weight (RFC 9110: ``q`` from 0 to 1, at most
#: three decimals; anything else makes the range ignored)
_RANGE = re.compile(
    r"\s*(?P<range>[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*"
    r"(?:;\s*[Qq]\s*=\s*(?P<q>0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?\s*"
)


def negotiate(header: str | None) -> Language:
    """The language (of :data:`~ledger.messages.LANGUAGES`) that ``header`` prefers."""
    named: dict[str, tuple[float, int]] = {}  # primary subtag -> (quality, order)
    anything: tuple[float, int] | None = None
    for order, part in enumerate((header or "").split(",")):
        found = _RANGE.fullmatch(part)
        if found is None:
            continue
        quality = float(found["q"]) if found["q"] is not None else 1.0
        primary = re.split(r"[-_]", found["range"].lower())[0]
        if primary == "*":
            anything = anything or (quality, order)
        elif primary not in named or named[primary][0] < quality:
            named[primary] = (quality, named.get(primary, (0.0, order))[1])
    best: tuple[float, int, Language] | None = None
    for language in LANGUAGES:
        quality, order = named.get(language) or anything or (0.0, 0)
        if quality > 0 and (best is None or (quality, -order) > (best[0], -best[1])):
            best = (quality, order, language)
    return best[2] if best is not None else DEFAULT


def of_request(request: Request) -> Language:
    """The language ``request`` asks its answer in."""
    return negotiate(request.headers.get("accept-language"))


def from_environment(environ: Mapping[str, str]) -> Language:
    """The language of the command line: the first of ``LC_ALL``, ``LC_MESSAGES`` and
    ``LANG`` that is set and not empty (POSIX's order for messages) says it: a locale name
    that starts with ``vi`` (``vi``, ``vi_VN``, ``vi_VN.UTF-8``) is Vietnamese, any other
    (``C``, ``POSIX``, ``en_US.UTF-8``) or none English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "vi" if value.lower().startswith("vi") else DEFAULT
    return DEFAULT
