"""The settings read from the environment (``ledger/settings.py``): read when asked, an empty
variable is the default, a bad value is refused naming the variable, and the README's
Configuration table lists exactly these settings, with their defaults and meanings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import settings

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> list[str]:
    """The lines of the Markdown table under the README's ``## Configuration``."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    lines = section.split("\n## ", 1)[0].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def table_of_settings() -> list[str]:
    """The Configuration table as the settings module defines it."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    previous = None
    for setting in settings.SETTINGS:
        if not setting.default:
            default = "unset"
        elif setting.default == previous:
            default = "same as above"
        else:
            default = f"`{setting.default}`"
        previous = setting.default
        lines.append(f"| `{setting.name}` | {default} | {setting.meaning} |")
    return lines


def test_the_readme_lists_exactly_the_settings_with_their_defaults_and_meanings() -> None:
    expected = table_of_settings()
    assert readme_table() == expected, "README.md's Configuration table should read:\n" + (
        "\n".join(expected)
    )


def test_every_setting_is_named_once() -> None:
    names = [setting.name for setting in settings.SETTINGS]
    assert len(names) == len(set(names))
    defined = [v for v in vars(settings).values() if isinstance(v, settings.Setting)]
    assert set(defined) == set(settings.SETTINGS)


def test_a_setting_is_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_READY_MAX_LAG", raising=False)
    assert settings.READY_MAX_LAG.get() == 1000
    monkeypatch.setenv("LEDGER_READY_MAX_LAG", " 7 ")
    assert settings.READY_MAX_LAG.get() == 7
    monkeypatch.setenv("LEDGER_ORIGIN", "")
    assert settings.ORIGIN.get() == "nscl-ledger"
    assert settings.SIGNING_KEY.get({"LEDGER_SIGNING_KEY": "k.pem"}) == Path("k.pem").absolute()
    assert settings.SIGNING_KEY.get({}) is None  # unset: in the home (ledger/home.py)
    assert settings.DEBUG.get({}) is False and settings.DEBUG.get({"LEDGER_DEBUG": "0"}) is True
    assert settings.CI.get({"CI": "True"}) is True and settings.CI.get({"CI": "no"}) is False


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            settings.READY_MAX_LAG,
            "lots",
            "LEDGER_READY_MAX_LAG must be a whole number of events (0 or more), not 'lots'",
        ),
        (
            settings.REPLAY_SNAPSHOT_EVERY,
            "-5",
            "LEDGER_REPLAY_SNAPSHOT_EVERY must be a whole number of events (0: off)",
        ),
        (
            settings.APP_ROLE,
            "App",
            "LEDGER_APP_ROLE='App' is not a plain role name (lower-case letters, digits and _, "
            "at most 63, not starting with a digit).",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    setting: settings.Setting[object], value: str, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        setting.get({setting.name: value})
    assert str(refused.value) == message
