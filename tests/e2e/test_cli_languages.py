"""The command line's errors in the officers' language: the installed ``ledger`` script, run in
a subprocess (bounded in time), says what is wrong in Vietnamese when the locale is Vietnamese
(``LANG=vi_VN.UTF-8``) and in English otherwise (``LANG=C``), on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

LEDGER_SCRIPT = Path(sys.executable).with_name("ledger")
#: the locale variables a test sets itself (the machine's own are left out)
LOCALE = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")


def ledger_error(database_url: str, *args: str, **locale: str) -> str:
    """The one line ``ledger args…`` prints on stderr when it refuses, in ``locale``."""
    env = {k: v for k, v in os.environ.items() if k not in LOCALE}
    env.update(locale, LEDGER_DATABASE_URL=database_url)
    env.pop("LEDGER_TOKEN", None)
    done = subprocess.run(
        [str(LEDGER_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (1, 2), done  # 2: a usage error, as click exits
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_a_refused_command_is_said_in_vietnamese_or_in_english_as_the_locale_says(
    database_url: str,
) -> None:
    nobody = uuid.uuid4()
    revoke = ("users", "revoke", str(nobody), "--reason", "chuyển công tác")
    assert ledger_error(database_url, *revoke, LANG="vi_VN.UTF-8") == (
        f"Lỗi: Không có người dùng nào mang mã {nobody}."
    )
    assert ledger_error(database_url, *revoke, LANG="C") == f"Error: No user with id {nobody}."
    # LC_ALL comes first, as POSIX says
    assert ledger_error(database_url, *revoke, LANG="vi_VN.UTF-8", LC_ALL="C") == (
        f"Error: No user with id {nobody}."
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_mistakes_on_the_command_line_are_said_in_vietnamese(database_url: str) -> None:
    invalid = ("users", "add", "--name", "An", "--role", "boss", "--department", "SKHCN")
    assert ledger_error(database_url, *invalid, LANG="vi_VN.UTF-8") == (
        "Lỗi: --role không hợp lệ: không có mã vai trò 'boss' trong danh mục (một trong các vai "
        "trò: admin, officer, finance, leader, inspector, viewer)"
    )
    assert ledger_error(database_url, *invalid, LANG="C") == (
        "Error: invalid --role: unknown role code 'boss' (one of: admin, officer, finance, "
        "leader, inspector, viewer)"
    )
    no_token = ("year", "close", "2015", "--on", "2016-01-31")
    assert ledger_error(database_url, *no_token, LC_MESSAGES="vi_VN.UTF-8", LANG="C") == (
        "Lỗi: lệnh này thực hiện thay cho một người dùng: hãy cung cấp mã truy cập của người "
        "đó qua --token hoặc LEDGER_TOKEN (lệnh `ledger users add` in ra mã truy cập)"
    )
    assert ledger_error(database_url, "users", "add", "--nme", "An", LANG="vi") == (
        "Lỗi: Không có tùy chọn '--nme'. Có phải ý bạn là '--name'? (xem `ledger users add --help`)"
    )
