"""An enterprise on its own: a correction is an event that names only what it changes, and a
correction that changes nothing is refused."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger import commands as c
from ledger.enterprise import Enterprise
from ledger.errors import ValidationFailed
from tests.support.domain import YEAR, D, meta, refused


def registered() -> Enterprise:
    return Enterprise.register(
        c.RegisterEnterprise(
            tax_code="0101234567",
            name="Công ty TNHH Minh Phát",
            district="QH-CAUGIAY",
            sector="industry",
            size="small",
        ),
        meta(),
    )


def correction(changes: dict[str, str]) -> c.CorrectEnterprise:
    return c.CorrectEnterprise.model_validate(
        {"enterprise_id": uuid4(), "corrected_on": D(YEAR, 5, 1), "reason": "Sai tên", **changes}
    )


@pytest.mark.parametrize(
    "changes",
    [{}, {"name": "Công ty TNHH Minh Phát"}, {"district": "QH-CAUGIAY", "size": "small"}],
    ids=["none-given", "same-name", "same-district-and-size"],
)
def test_a_correction_that_changes_nothing_is_refused(changes: dict[str, str]) -> None:
    enterprise = registered()
    error = refused(
        enterprise, ValidationFailed, lambda: enterprise.correct(correction(changes), meta())
    )
    assert error.detail == "The correction changes nothing: give at least one new value."


def test_a_correction_names_only_what_it_changes() -> None:
    enterprise = registered()
    enterprise.correct(correction({"name": "Công ty CP Minh Phát", "size": "small"}), meta())
    [_, corrected] = enterprise.collect_events()
    assert isinstance(corrected, Enterprise.Corrected)
    assert (corrected.changes, corrected.reason) == ({"name": "Công ty CP Minh Phát"}, "Sai tên")
    assert (enterprise.tax_code, enterprise.name, enterprise.size) == (
        "0101234567",
        "Công ty CP Minh Phát",
        "small",
    )
