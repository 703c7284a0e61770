"""The command line's one way of saying what is wrong with the input (``api/cli/errors.py``):
each field named as the user typed it, one line, with a hint for a role or a department."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.cli.errors import explain, explain_validation, safe_url
from ledger import commands as c


def refusal(**fields: str) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        c.GrantAccess.model_validate(fields)
    return refused.value


def test_each_field_is_named_as_typed_with_a_hint_for_role_and_department() -> None:
    error = refusal(name="An", role="boss", department="SKHC")
    assert explain_validation(error) == (
        "invalid --role: unknown role code 'boss' (one of: admin, officer, finance, leader, "
        "inspector, viewer); invalid --department: unknown department code 'SKHC' "
        "(did you mean SKHCN or SKHDT?)"
    )
    assert explain(error) == explain_validation(error)


def test_a_command_may_name_its_own_options_and_leave_the_hints_out() -> None:
    error = refusal(name="An", role="officer", department="SKHC")
    assert explain_validation(error, {"department": "--dept"}, hints=False) == (
        "invalid --dept: unknown department code 'SKHC'"
    )
    assert explain_validation(error, {}, hints=False) == (
        "invalid department: unknown department code 'SKHC'"
    )


def test_a_database_url_is_shown_without_its_password() -> None:
    assert safe_url("postgresql://me:secret@db/x") == "postgresql://me:***@db/x"
    assert safe_url(None) == ""
