"""target_progress counts units as the program catalogue says (``ledger/catalogue.py``), the
same by catch-up, rebuild and replay."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any
from uuid import UUID

from ledger import catalogue
from ledger import commands as c
from ledger.service import Ledger
from ledger.support_application import SupportApplication
from projections import target_progress
from projections.projector import Projector
from projections.source import read_batches
from projections.target_progress import TargetProgress
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import Scenario, funding

D = dt.date
NAME = "target_progress"


def report(projector: Projector, budget_year: int | None = None) -> dict[str, dict[str, Any]]:
    with projector.reading(NAME) as (connection, tables, _):
        rows = target_progress.report(connection, tables, budget_year=budget_year)
    assert [r["target"] for r in rows] == list(catalogue.TARGETS)
    return {r["target"]: r for r in rows}


def contracted(
    scenario: Scenario, enterprise_id: UUID, project: str, support_type: str, year: int
) -> UUID:
    """An application of ``enterprise_id`` walked to a signed contract in ``year``."""
    ledger, people = scenario.ledger, scenario.people
    app_id = ledger.submit_application(
        c.SubmitApplication(
            enterprise_id=enterprise_id,
            dossier_no=f"HS-{uuid.uuid4().hex[:8]}",
            project=project,
            support_type=support_type,
            title="Hồ sơ đề nghị hỗ trợ",
            total_cost=50_000_000,
            requested=funding(30_000_000, 20_000_000),
            submitted_on=D(year, 2, 1),
        ),
        people.officer,
    ).id
    ledger.appraise_application(
        c.AppraiseApplication(
            application_id=app_id,
            appraised_on=D(year, 2, 15),
            recommended=funding(30_000_000, 20_000_000),
        ),
        people.appraiser,
    )
    ledger.approve_application(
        c.ApproveApplication(
            application_id=app_id,
            decision_no=f"QĐ-{uuid.uuid4().hex[:6]}",
            decided_on=D(year, 3, 1),
            budget_year=year,
            approved=funding(30_000_000, 20_000_000),
        ),
        people.approver,
    )
    ledger.sign_contract(
        c.SignContract(
            application_id=app_id,
            contract_no=f"HĐ-{uuid.uuid4().hex[:8]}",
            signed_on=D(year, 3, 10),
        ),
        people.officer,
    )
    return app_id


def accept(
    scenario: Scenario,
    app_id: UUID,
    on: dt.date,
    result: str = "passed",
    outputs: dict[str, int] | None = None,
) -> None:
    scenario.ledger.record_acceptance(
        c.RecordAcceptance(
            application_id=app_id,
            accepted_on=on,
            result=result,  # type: ignore[arg-type]
            outputs=outputs or {},
        ),
        scenario.people.officer,
    )


def test_target_values_are_the_decisions_and_nothing_is_achieved_before_any_acceptance(
    ledger: Ledger,
) -> None:
    projector = Projector(ledger, projections=[TargetProgress])
    projector.catch_up()
    rows = report(projector)
    assert [rows[t]["target_value"] for t in catalogue.TARGETS] == [
        25,
        25,
        50,
        200,
        40,
        250,
        500,
        500,
    ]
    assert {t: (r["project"], r["unit"]) for t, r in rows.items()} == {
        "tech_innovation": ("DA3", "enterprises"),
        "tech_transfer": ("DA3", "enterprises"),
        "patents": ("DA4", "registrations"),
        "industrial_designs": ("DA4", "registrations"),
        "marks_gi": ("DA4", "marks"),
        "conformity_certification": ("DA1", "enterprises"),
        "base_standards": ("DA1", "standards"),
        "management_systems": ("DA2", "enterprises"),
    }
    assert all(
        r["achieved"] == 0 and r["percent"] == 0.0 and r["by_year"] == {} for r in rows.values()
    )


def test_an_enterprise_counts_once_per_target_and_outputs_are_summed(
    ledger: Ledger, people: People
) -> None:
    # Step 1: city-budget lines for 2015 and 2016.
    scenario = Scenario(ledger, people)
    for year in (2015, 2016):
        for project in ("DA2", "DA4"):
            scenario.budget(1_000_000_000, year=year, project=project)
    first, second = scenario.enterprise(), scenario.enterprise()

    # Step 2: the first enterprise passes two acceptances toward management_systems; the
    # 2016 one is recorded first, then one dated 2015: it counts once, in 2015.
    later = contracted(scenario, first, "DA2", "iso_14001", 2016)
    earlier = contracted(scenario, first, "DA2", "iso_9001", 2015)
    accept(scenario, later, D(2016, 9, 1), outputs={"management_systems": 1})
    projector = Projector(ledger, projections=[TargetProgress])
    projector.catch_up()
    assert report(projector)["management_systems"]["by_year"] == {"2016": 1}
    accept(scenario, earlier, D(2015, 9, 1), outputs={"management_systems": 1})

    # Step 3: the second enterprise fails one acceptance (not counted) and passes another.
    failed = contracted(scenario, second, "DA2", "iso_22000", 2015)
    accept(scenario, failed, D(2015, 10, 1), result="failed")
    passed = contracted(scenario, second, "DA2", "gmp", 2016)
    accept(scenario, passed, D(2016, 10, 1))

    # Step 4: industrial designs sum their outputs: 3, then 2 more by the same enterprise.
    design = contracted(scenario, first, "DA4", "industrial_design", 2015)
    accept(scenario, design, D(2015, 11, 1), outputs={"industrial_designs": 3})
    more = contracted(scenario, first, "DA4", "industrial_design", 2016)
    accept(scenario, more, D(2016, 11, 1), outputs={"industrial_designs": 2})

    # Step 5: the counts, overall and up to 2015.
    projector.catch_up()
    rows = report(projector)
    assert rows["management_systems"]["achieved"] == 2
    assert rows["management_systems"]["by_year"] == {"2015": 1, "2016": 1}
    assert rows["management_systems"]["percent"] == 0.4
    assert rows["industrial_designs"]["achieved"] == 5
    assert rows["industrial_designs"]["by_year"] == {"2015": 3, "2016": 2}
    assert rows["industrial_designs"]["percent"] == 2.5
    assert all(
        rows[t]["achieved"] == 0
        for t in rows
        if t not in ("management_systems", "industrial_designs")
    )
    upto_2015 = report(projector, budget_year=2015)
    assert upto_2015["management_systems"]["achieved"] == 1
    assert upto_2015["management_systems"]["by_year"] == {"2015": 1}
    assert upto_2015["industrial_designs"]["achieved"] == 3
    assert upto_2015["industrial_designs"]["percent"] == 1.5

    # Step 6: a rebuild counts the same.
    projector.rebuild(NAME)
    assert report(projector) == rows


def expected_from_the_log(ledger: Ledger) -> dict[str, dict[str, int]]:
    """The GLOSSARY's rule applied directly to the whole log, in memory."""
    apps: dict[UUID, tuple[UUID, str]] = {}
    first_year: dict[tuple[str, UUID], int] = {}
    summed: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    with ledger.engine.connect() as connection:
        for batch in read_batches(ledger, connection, 0, 1000):
            for envelope in batch:
                event = envelope.event
                if isinstance(event, SupportApplication.Submitted):
                    apps[event.originator_id] = (event.enterprise_id, event.support_type)
                elif (
                    isinstance(event, SupportApplication.AcceptanceRecorded)
                    and event.result == "passed"
                ):
                    enterprise_id, support_type = apps[event.originator_id]
                    target = catalogue.target_for(support_type)
                    year = event.effective_date.year
                    if target is None:
                        continue
                    if target.unit_kind == "enterprises":
                        key = (target.code, enterprise_id)
                        first_year[key] = min(first_year.get(key, year), year)
                    else:
                        summed[target.code][str(year)] += event.outputs.get(target.code, 0)
    expected: dict[str, dict[str, int]] = {code: {} for code in catalogue.TARGETS}
    for (code, _), year in first_year.items():
        expected[code][str(year)] = expected[code].get(str(year), 0) + 1
    for code, by_year in summed.items():
        expected[code].update({y: n for y, n in by_year.items() if n})
    return expected


def test_the_demo_s_progress_follows_the_glossary_s_rule(ledger: Ledger) -> None:
    load_demo(ledger, scale=0.03)
    projector = Projector(ledger, projections=[TargetProgress])
    projector.catch_up()
    rows = report(projector)
    expected = expected_from_the_log(ledger)
    assert {t: r["by_year"] for t, r in rows.items()} == expected
    assert sum(r["achieved"] for r in rows.values()) > 0
    for row in rows.values():
        assert row["achieved"] == sum(row["by_year"].values())
        assert row["percent"] == round(100 * row["achieved"] / row["target_value"], 1)
    upto_2015 = report(projector, budget_year=2015)
    for target, row in upto_2015.items():
        assert row["by_year"] == {y: n for y, n in expected[target].items() if int(y) <= 2015}
        assert row["achieved"] == sum(row["by_year"].values())
