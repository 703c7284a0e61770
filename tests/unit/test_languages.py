"""Which language an answer is written in (``api/languages.py``): the best of Vietnamese and
English an ``Accept-Language`` header asks for, and the locale of the command line."""

from __future__ import annotations

import pytest

from api.languages import from_environment, negotiate


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("vi", "vi"),
        ("VI", "vi"),
        ("vi-VN", "vi"),
        ("vi_VN", "vi"),
        ("en", "en"),
        ("en-GB, vi", "en"),
        ("vi, en", "vi"),
        ("vi;q=0.9, en;q=0.8", "vi"),
        ("en;q=0.8, vi;q=0.9", "vi"),
        ("vi;q=0.5, en", "en"),
        ("fr, vi;q=0.1", "vi"),
        ("fr, de", "en"),
        ("*", "en"),
        ("en;q=0, *", "vi"),
        ("vi;q=0", "en"),
        ("vi;q=0.000", "en"),
        ("vi-VN,vi;q=0.9,fr-FR;q=0.8,fr;q=0.7,en-US;q=0.6,en;q=0.5", "vi"),
        ("vi;q=2", "en"),  # an invalid weight: the range is ignored
        ("vi;q=abc, en;q=0.1", "en"),
        ("\x00\ufffd;;,,", "en"),
        ("vi-" + "x" * 500, "en"),
    ],
)
def test_the_best_supported_language_of_the_header_wins(header: str | None, language: str) -> None:
    assert negotiate(header) == language


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({}, "en"),
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "vi"}, "vi"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "vi_VN.UTF-8", "LC_MESSAGES": "C"}, "en"),
        ({"LANG": "vi_VN.UTF-8", "LC_ALL": "C"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "C", "LC_ALL": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "vi_VN.UTF-8", "LC_ALL": ""}, "vi"),  # an empty variable counts as unset
    ],
)
def test_the_command_line_reads_its_language_from_the_locale_in_posix_order(
    environ: dict[str, str], language: str
) -> None:
    assert from_environment(environ) == language
