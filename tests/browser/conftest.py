"""Fixtures of the browser tests: the demo program served by ``ledger serve`` (a real
process on 127.0.0.1), a user of every role, and Playwright driving Debian's Chromium
(``/usr/bin/chromium``, headless; ``make test`` installs it when it is missing).

Screenshots of every page go under ``var/screenshots/`` (git-ignored)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger import checkpoint as cp
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.service import Ledger
from projections.projector import Projector
from tests.faults.harness import ROOT, LedgerServer, Processes, ledger_env
from tests.support.demo import load_demo

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
ROLES = ("admin", "officer", "finance", "leader", "inspector", "viewer")


@dataclass(frozen=True)
class Site:
    base_url: str
    tokens: dict[str, str]
    ledger_url: str


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo (scale 0.03) on SQLite, its read models caught up, served; a token a role."""
    directory = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{directory / 'ledger.db'}"
    import migrations

    migrations.upgrade(url)
    ledger = Ledger(url)
    try:
        load_demo(ledger, scale=0.03)
        tokens = {
            role: ledger.grant_access(
                c.GrantAccess(name=f"Người dùng {role}", role=role, department="SKHCN"), SYSTEM
            ).token
            for role in ROLES
        }
        Projector(ledger).catch_up()
    finally:
        ledger.engine.dispose()
    env = ledger_env(directory)
    cp.init_key(env["LEDGER_SIGNING_KEY"])  # the verify button signs nothing but needs it
    processes = Processes(directory, env)
    # `ledger serve` as a user runs it: one HTTP worker per core (a page's requests and a
    # session's sign-in land on any of them)
    server = LedgerServer(processes, url, workers=None).start()
    try:
        yield Site(server.base_url, tokens, url)
    finally:
        processes.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS
