"""The registers hold what the aggregates answer, list and search applications, keep an
enterprise's corrected name on its applications, and come out the same by every path."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import Connection, Table

from demo.run import DemoSummary
from ledger import commands as c
from ledger.service import Ledger
from projections import registers
from projections.projector import Projector
from projections.replay import replay
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import Scenario, funding

NAME = "registers"
SCALE = 0.02


def all_applications(
    connection: Connection, tables: dict[str, Table], page_size: int = 1000, **filters: Any
) -> list[dict[str, Any]]:
    """Every page of the list, one after the other."""
    rows: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        found, page = registers.applications(
            connection, tables, page=page, page_size=page_size, **filters
        )
        rows.extend(found)
    return rows


def contents(projector: Projector) -> tuple[int, dict[str, Any]]:
    """Everything the registers answer, through their query functions."""
    with projector.reading(NAME) as (connection, tables, position):
        listed = all_applications(connection, tables)
        return position, {
            "applications": listed,
            "records": [registers.application(connection, tables, r["id"]) for r in listed],
            "enterprises": registers.enterprises(connection, tables),
            "activities": registers.activities(connection, tables),
            "budget_lines": registers.budget_lines(connection, tables),
        }


def demo(ledger: Ledger) -> tuple[DemoSummary, Projector]:
    summary = load_demo(ledger, scale=SCALE, unfolded=True)
    projector = Projector(ledger)
    assert projector.catch_up(NAME) == ledger.position()
    return summary, projector


def test_every_record_in_the_registers_is_what_its_aggregate_answers(ledger: Ledger) -> None:
    # Step 1: a small demo program, folded by catch-up.
    summary, projector = demo(ledger)
    _, answer = contents(projector)

    # Step 2: one application row per application, each as the ledger answers it.
    assert len(answer["applications"]) == summary.applications
    for record in answer["records"]:
        assert record == ledger.get_application(UUID(record["id"]))
    for row in answer["applications"]:
        record = ledger.get_application(UUID(row["id"]))
        enterprise = ledger.get_enterprise(UUID(row["enterprise_id"]))
        assert row["enterprise_name"] == enterprise["name"]
        assert row["submitted_on"] <= dt.date(2020, 12, 31).isoformat()
        for field in (
            "dossier_no",
            "status",
            "project",
            "support_type",
            "title",
            "total_cost",
            "requested",
            "approved",
            "budget_year",
            "disbursed",
            "recovered",
            "contract_no",
        ):
            assert row[field] == record[field], field

    # Step 3: enterprises, activities and budget lines equal their aggregates too.
    assert len(answer["enterprises"]) == summary.enterprises
    for enterprise in answer["enterprises"]:
        assert enterprise == ledger.get_enterprise(UUID(enterprise["id"]))
    assert len(answer["activities"]) == summary.activities
    for activity in answer["activities"]:
        assert activity == ledger.get_activity(UUID(activity["id"]))
    assert answer["budget_lines"] == ledger.get_budget_lines()
    assert len(answer["budget_lines"]) == summary.budget_lines

    # Step 4: the budget-line filters answer as the ledger's own.
    with projector.reading(NAME) as (connection, tables, _):
        picks = [
            (2015, None, None),
            (None, "DA3", None),
            (2018, "DA1", "city_budget"),
            (2030, None, None),
        ]
        for year, project, source in picks:
            assert registers.budget_lines(
                connection, tables, budget_year=year, project=project, source=source
            ) == ledger.get_budget_lines(year, project, source)
        assert registers.application(connection, tables, UUID(int=0)) is None


def test_the_application_list_filters_pages_and_searches_whatever_the_case(ledger: Ledger) -> None:
    # Step 1: the whole list, in submission order.
    _, projector = demo(ledger)
    with projector.reading(NAME) as (connection, tables, _):
        everything = all_applications(connection, tables)
        order = [(r["submitted_on"], r["dossier_no"]) for r in everything]
        assert order == sorted(order)

        # Step 2: pages of seven follow each other and end with no next page.
        first, next_page = registers.applications(connection, tables, page_size=7)
        assert first == everything[:7] and next_page == 2
        assert all_applications(connection, tables, page_size=7) == everything
        last = (len(everything) - 1) // 7 + 1
        assert registers.applications(connection, tables, page=last, page_size=7)[1] is None
        assert registers.applications(connection, tables, page=last + 1, page_size=7) == ([], None)
        with pytest.raises(ValueError):
            registers.applications(connection, tables, page=0)

        # Step 3: each filter keeps exactly the rows that match it.
        sample = everything[len(everything) // 2]
        year_of = {r["id"]: r["budget_year"] or int(r["submitted_on"][:4]) for r in everything}
        filters: list[tuple[dict[str, Any], Any]] = [
            ({"status": "settled"}, lambda r: r["status"] == "settled"),
            ({"project": "DA4"}, lambda r: r["project"] == "DA4"),
            ({"budget_year": 2016}, lambda r: year_of[r["id"]] == 2016),
            (
                {"enterprise_id": UUID(sample["enterprise_id"])},
                lambda r: r["enterprise_id"] == sample["enterprise_id"],
            ),
            (
                {"status": "settled", "project": "DA1"},
                lambda r: r["status"] == "settled" and r["project"] == "DA1",
            ),
        ]
        for given, keeps in filters:
            expected = [r for r in everything if keeps(r)]
            assert expected, f"the demo has no application for {given}"
            assert all_applications(connection, tables, page_size=5, **given) == expected

        # Step 4: q finds the dossier number, the title or the enterprise's name, any case.
        for q, field in [
            (sample["dossier_no"].lower(), "dossier_no"),
            (sample["enterprise_name"].upper(), "enterprise_name"),
            (sample["title"][5:25].swapcase(), "title"),
        ]:
            found = all_applications(connection, tables, q=q)
            assert sample in found
            assert all(q.casefold() in r[field].casefold() for r in found)
        assert all_applications(connection, tables, q="không có hồ sơ nào như thế %") == []


def test_a_corrected_enterprise_name_reaches_its_applications_by_every_path(
    ledger: Ledger, people: People
) -> None:
    # Step 1: two applications of one enterprise, folded before the correction.
    scenario = Scenario(ledger, people)
    scenario.budget()
    first = scenario.approved()
    enterprise_id = UUID(ledger.get_application(first)["enterprise_id"])
    second = ledger.submit_application(
        c.SubmitApplication(
            enterprise_id=enterprise_id,
            dossier_no="HS-2015-TEN-002",
            project="DA2",
            support_type="iso_14001",
            title="Áp dụng ISO 14001",
            total_cost=50_000_000,
            requested=funding(20_000_000, 30_000_000),
            submitted_on=dt.date(2015, 5, 1),
        ),
        people.officer,
    ).id
    projector = Projector(ledger)
    projector.catch_up(NAME)

    # Step 2: the enterprise is renamed in a batch where one application changes before the
    # correction (its row is in memory) and one after (its stored row is read afterwards).
    ledger.sign_contract(
        c.SignContract(
            application_id=first, contract_no="HĐ-TEN-001", signed_on=dt.date(2015, 5, 20)
        ),
        people.officer,
    )
    ledger.correct_enterprise(
        c.CorrectEnterprise(
            enterprise_id=enterprise_id,
            corrected_on=dt.date(2015, 6, 1),
            reason="Đổi tên theo giấy chứng nhận mới",
            name="Công ty CP Đổi Tên Mới",
        ),
        people.officer,
    )
    ledger.appraise_application(
        c.AppraiseApplication(
            application_id=second,
            appraised_on=dt.date(2015, 6, 2),
            recommended=funding(20_000_000, 30_000_000),
            note="Đủ điều kiện",
        ),
        people.appraiser,
    )
    projector.catch_up(NAME)

    # Step 3: both rows carry the new name and are found by it, in any case.
    with projector.reading(NAME) as (connection, tables, _):
        found = all_applications(connection, tables, q="ĐỔI TÊN MỚI")
        assert {r["id"] for r in found} == {str(first), str(second)}
        decomposed = unicodedata.normalize("NFD", "đổi tên mới")
        assert all_applications(connection, tables, q=decomposed) == found
        assert {r["enterprise_name"] for r in found} == {"Công ty CP Đổi Tên Mới"}
        assert (
            all_applications(connection, tables, q="Minh Phát", enterprise_id=enterprise_id) == []
        )
        assert registers.enterprise(connection, tables, enterprise_id) == ledger.get_enterprise(
            enterprise_id
        )

    # Step 4: a rebuild and a replay answer the same.
    caught_up = contents(projector)
    projector.rebuild(NAME)
    assert contents(projector) == caught_up
    assert contents(replay(ledger, names=[NAME])) == caught_up
