"""The projections' folds in memory: events made by the aggregates (tests/support/domain.py)
folded as a rebuild folds them, with every row in memory and no database, and the rows they
leave compared with the figures ARCHITECTURE.md and each projection's docstring give.

The story most tests fold (:func:`settled_application`): the city line of 2015 × DA2 assigned
1,000 million ₫ and its enterprise line 200 million; an application approved for 60 million
from the city and 40 from the enterprise; 20 paid in advance and 10 in a payment, the payment
reversed; 5 ordered back and received; accepted, then settled (45 released).
"""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger.budget_line import budget_line_id
from ledger.log_gaps import RecordedGap
from ledger.program_activity import ProgramActivity
from ledger.support_application import SupportApplication
from projections.base import Envelope
from projections.budget_execution import BudgetExecution
from projections.department_activity import DepartmentActivity
from projections.journal import ACCOUNTS, Journal
from projections.project_spend import ProjectSpend
from projections.registers import Registers
from projections.target_progress import TargetProgress
from tests.support.domain import (
    ADVANCE,
    APPRAISER,
    APPROVER,
    ASSIGNED,
    CITY,
    DISTRICT_OFFICER,
    ENTERPRISE,
    FINANCE,
    OFFICER,
    PAYMENT,
    RECOVERY,
    YEAR,
    D,
    Log,
    acceptance,
    activity_approval,
    appraisal,
    approval,
    budget_line,
    contracted,
    disbursement,
    folded,
    meta,
    rows,
    settled_application,
    submission,
    submitted,
)

MILLION = 1_000_000
#: what the story leaves committed on the city line: the money out, net of the recovery
KEPT = ADVANCE - RECOVERY


def story() -> Log:
    log = Log()
    settled_application(log)
    return log


# -- project_spend ------------------------------------------------------------------------------


def test_project_spend_gives_the_lines_figures_and_counts_the_application_where_it_ends() -> None:
    spend = folded(ProjectSpend, story())
    assert rows(spend, "project_spend") == {
        (YEAR, "DA2", "science_recurrent"): {
            "budget_year": YEAR,
            "project": "DA2",
            "channel": "science_recurrent",
            "assigned": ASSIGNED,
            "carried_in": 0,
            "committed": KEPT,
            "disbursed": ADVANCE,
            "recovered": RECOVERY,
            "carried_out": 0,
            "cancelled": 0,
        }
    }
    # the enterprise "line" of an old log is no budget line: the enterprise's money is the
    # approval's pledge, and what it spent (none reported at this acceptance)
    assert rows(spend, "project_spend_counterpart") == {
        (YEAR, "DA2", "enterprise"): {
            "budget_year": YEAR,
            "project": "DA2",
            "source": "enterprise",
            "pledged": ENTERPRISE,
            "spent": 0,
        }
    }
    assert rows(spend, "project_spend_counts") == {
        (YEAR, "DA2"): {"budget_year": YEAR, "project": "DA2", "applications": {"settled": 1}}
    }


def test_project_spend_moves_an_application_to_the_budget_year_of_its_approval() -> None:
    log = Log()
    app = submitted()  # in 2015
    app.appraise(appraisal(), meta(APPRAISER))
    log.take(app)
    after_submission = rows(folded(ProjectSpend, log), "project_spend_counts")
    assert after_submission[(YEAR, "DA2")]["applications"] == {"appraised": 1}
    app.approve(approval(year=2016), meta(APPROVER))
    log.take(app)
    spend = folded(ProjectSpend, log)
    counts = rows(spend, "project_spend_counts")
    assert counts[(YEAR, "DA2")]["applications"] == {}
    assert counts[(2016, "DA2")]["applications"] == {"approved": 1}
    assert rows(spend, "project_spend_counterpart")[(2016, "DA2", "enterprise")]["pledged"] == (
        ENTERPRISE
    )
    assert rows(spend, "project_spend_apps")[(app.id,)] == {
        "application_id": app.id,
        "project": "DA2",
        "budget_year": 2016,
        "status": "approved",
        "approved": {"city_budget": CITY, "enterprise": ENTERPRISE, "other": 0},
    }


def test_project_spend_gives_back_the_non_city_shares_of_a_cancelled_application() -> None:
    log = Log()
    line = budget_line()
    app = contracted(CITY, ENTERPRISE)
    line.commit(app.id, CITY, meta(APPROVER))
    log.take(line, app)
    released = app.cancel("Doanh nghiệp dừng", meta())
    line.release(app.id, released, meta())
    log.take(app, line)
    spend = folded(ProjectSpend, log)
    pledged = rows(spend, "project_spend_counterpart")
    assert pledged.get((YEAR, "DA2", "enterprise"), {"pledged": 0})["pledged"] == 0
    assert rows(spend, "project_spend")[(YEAR, "DA2", "science_recurrent")]["committed"] == 0
    assert rows(spend, "project_spend_counts")[(YEAR, "DA2")]["applications"] == {"cancelled": 1}


# -- budget_execution ---------------------------------------------------------------------------


def test_budget_execution_counts_the_city_lines_only_and_leaves_the_estimates_at_zero() -> None:
    execution = rows(folded(BudgetExecution, story()), "budget_execution")
    assert execution == {
        (YEAR, "DA2", "city_budget", "science_recurrent"): {
            "budget_year": YEAR,
            "project": "DA2",
            "source": "city_budget",
            "channel": "science_recurrent",
            "proposed": 0,
            "appraised": 0,
            "approved": 0,
            "adjusted": 0,
            "assigned": ASSIGNED,
            "carried_in": 0,
            "committed": KEPT,
            "disbursed": ADVANCE,
            "recovered": RECOVERY,
            "carried_out": 0,
            "cancelled": 0,
        }
    }


def test_budget_execution_adds_adjustments_to_the_assigned_budget() -> None:
    log = Log()
    line = budget_line(ASSIGNED)
    line.adjust(-100 * MILLION, meta(FINANCE))
    line.adjust(30 * MILLION, meta(FINANCE))
    log.take(line)
    execution = rows(folded(BudgetExecution, log), "budget_execution")
    key = (YEAR, "DA2", "city_budget", "science_recurrent")
    assert execution[key]["assigned"] == ASSIGNED - 70 * MILLION
    assert execution[key]["adjusted"] == -70 * MILLION


# -- department_activity ------------------------------------------------------------------------


def test_department_activity_counts_for_the_recorders_department_in_the_effective_year() -> None:
    log = Log()
    line = budget_line()  # by finance (STC), on 5 January 2015
    app = SupportApplication.submit(submission(), meta(DISTRICT_OFFICER))
    app.appraise(appraisal(), meta(APPRAISER))
    approving = meta(APPROVER, D(YEAR, 3, 1))
    app.approve(approval(), approving)
    line.commit(app.id, CITY, approving)
    app.sign_contract("HĐ-0001", meta(OFFICER))
    log.take(line, app)
    in_2016 = D(2016, 1, 10)
    for amount in (ADVANCE, PAYMENT):
        paid = app.disburse(disbursement(amount), meta(on=in_2016))
        line.disburse(app.id, paid, amount, meta(on=in_2016))
    app.reverse_disbursement(paid, "Chi sai", meta(on=in_2016))
    line.reverse_disbursement(app.id, paid, PAYMENT, meta(on=in_2016))
    activity = ProgramActivity.approve(activity_approval("SCT", 30 * MILLION), meta(OFFICER))
    log.take(app, line, activity)

    def row(events: int, **figures: int) -> dict[str, int]:
        zero = dict.fromkeys(
            (
                "applications_submitted",
                "applications_approved",
                "approved_amount",
                "disbursed_amount",
                "activities",
            ),
            0,
        )
        return {"events": events, **zero, **figures}

    found = {
        key: {k: v for k, v in r.items() if k not in ("department", "budget_year")}
        for key, r in rows(folded(DepartmentActivity, log), "department_activity").items()
    }
    assert found == {
        ("STC", YEAR): row(1),
        ("QH-CAUGIAY", YEAR): row(1, applications_submitted=1),
        # appraisal, approval and its commitment, contract, the activity's approval
        ("SKHCN", YEAR): row(5, applications_approved=1, approved_amount=CITY),
        # two payments and a reversal, each on the application and on the line
        ("SKHCN", 2016): row(6, disbursed_amount=ADVANCE),
        # the activity counts for the department that runs it, not for its recorder
        ("SCT", YEAR): row(0, activities=1),
    }


# -- target_progress ----------------------------------------------------------------------------


def accepted(
    log: Log,
    on: D,
    result: str = "passed",
    enterprise_id: UUID | None = None,
    outputs: dict[str, int] | None = None,
    project: str = "DA2",
    support_type: str = "iso_9001",
) -> None:
    """An application of ``support_type`` contracted, then its acceptance dated ``on``."""
    app = contracted(
        enterprise_id=enterprise_id or uuid4(), project=project, support_type=support_type
    )
    app.record_acceptance(acceptance(result, outputs), meta(on=on))
    log.take(app)


def test_target_progress_counts_an_enterprise_once_in_the_year_of_its_earliest_acceptance() -> None:
    log = Log()
    enterprise = uuid4()
    accepted(log, D(2016, 9, 1), enterprise_id=enterprise)  # iso_9001: management_systems
    progress = folded(TargetProgress, log)
    assert rows(progress, "target_progress") == {
        ("management_systems", 2016): {"target": "management_systems", "year": 2016, "achieved": 1}
    }
    accepted(log, D(2017, 9, 1), enterprise_id=enterprise)  # a later one: counted already
    accepted(log, D(2015, 9, 1), enterprise_id=enterprise)  # an earlier one, recorded later
    accepted(log, D(2015, 9, 1), result="failed")  # another enterprise, failed: not counted
    progress = folded(TargetProgress, log)
    achieved = {key: r["achieved"] for key, r in rows(progress, "target_progress").items()}
    assert achieved == {("management_systems", 2016): 0, ("management_systems", 2015): 1}
    assert rows(progress, "target_progress_counted") == {
        ("management_systems", enterprise): {
            "target": "management_systems",
            "enterprise_id": enterprise,
            "year": 2015,
        }
    }


def test_target_progress_sums_the_outputs_of_targets_counted_in_units() -> None:
    log = Log()
    for on, count in ((D(2015, 9, 1), 3), (D(2015, 11, 1), 2), (D(2016, 2, 1), 1)):
        accepted(
            log, on, outputs={"base_standards": count}, project="DA1", support_type="base_standard"
        )
    accepted(log, D(2015, 9, 1), project="DA1", support_type="lab_iso_17025")  # no target
    achieved = {
        key: r["achieved"]
        for key, r in rows(folded(TargetProgress, log), "target_progress").items()
    }
    assert achieved == {("base_standards", 2015): 5, ("base_standards", 2016): 1}


# -- journal ------------------------------------------------------------------------------------


def test_every_journal_posting_balances_and_the_accounts_give_back_the_lines_figures() -> None:
    journal = folded(Journal, story())
    postings = journal.rows("journal_postings").appended
    by_position: dict[int, list[int]] = {}
    for posting in postings:
        sides = by_position.setdefault(posting["position"], [0, 0])
        sides[0] += posting["debit"]
        sides[1] += posting["credit"]
    assert all(debit == credit > 0 for debit, credit in by_position.values())
    net: dict[tuple[str, str], int] = {}
    for (_, _, source, _, account), row in rows(journal, "journal_balances").items():
        net[source, account] = net.get((source, account), 0) + row["debit"] - row["credit"]
    assert sum(net.values()) == 0  # the trial balance nets to zero
    city = {account: net.get(("city_budget", account), 0) for account in ACCOUNTS}
    assert city == {
        "budget_assigned": -ASSIGNED,  # credit: assigned
        "budget_available": ASSIGNED - KEPT,  # debit: assigned − committed
        "commitments": KEPT - ADVANCE + RECOVERY,  # open: committed − disbursed + recovered
        "disbursements": ADVANCE,
        "recoveries": -RECOVERY,
        "carried_in": 0,
        "carried_out": 0,
        "budget_cancelled": 0,
        "counterpart_pledged": 0,
        "counterpart_open": 0,
        "counterpart_spent": 0,
    }
    # the enterprise's share is counterpart funding: pledged, open until spent (an old log's
    # enterprise "line" posts nothing)
    enterprise = {account: net.get(("enterprise", account), 0) for account in ACCOUNTS}
    assert enterprise == {
        **dict.fromkeys(ACCOUNTS, 0),
        "counterpart_pledged": -ENTERPRISE,
        "counterpart_open": ENTERPRISE,
    }


def test_a_journal_posting_names_its_record_and_its_voucher() -> None:
    journal = folded(Journal, story())
    paid = [
        (p["account"], p["debit"], p["credit"], p["memo"])
        for p in journal.rows("journal_postings").appended
        if p["memo"].startswith("Giải ngân")
    ]
    assert paid == [
        ("disbursements", ADVANCE, 0, f"Giải ngân (PC-{ADVANCE})"),
        ("commitments", 0, ADVANCE, f"Giải ngân (PC-{ADVANCE})"),
        ("disbursements", PAYMENT, 0, f"Giải ngân (PC-{PAYMENT})"),
        ("commitments", 0, PAYMENT, f"Giải ngân (PC-{PAYMENT})"),
    ]


def test_a_negative_adjustment_posts_the_other_way_round() -> None:
    log = Log()
    line = budget_line(ASSIGNED)
    line.adjust(-100 * MILLION, meta(FINANCE))
    log.take(line)
    postings = folded(Journal, log).rows("journal_postings").appended
    adjusted = [(p["account"], p["debit"], p["credit"]) for p in postings if p["position"] == 2]
    assert adjusted == [
        ("budget_assigned", 100 * MILLION, 0),
        ("budget_available", 0, 100 * MILLION),
    ]
    assert {p["record_id"] for p in postings} == {budget_line_id(YEAR, "DA2", "city_budget")}


# -- registers ---------------------------------------------------------------------------------


def test_a_register_row_holds_what_the_aggregate_answers() -> None:
    log = Log()
    app = settled_application(log)
    registers = folded(Registers, log)
    row = rows(registers, "register_applications")[(app.id,)]
    answered = app.as_dict()
    assert {k: row[k] for k in answered if k not in ("id", "enterprise_id")} == {
        k: v for k, v in answered.items() if k not in ("id", "enterprise_id")
    }
    assert (row["id"], row["enterprise_id"]) == (app.id, app.enterprise_id)
    assert (row["status"], row["disbursed"], row["recovered"], row["version"]) == (
        "settled",
        ADVANCE,
        RECOVERY,
        11,
    )
    city = budget_line_id(YEAR, "DA2", "city_budget")
    line = rows(registers, "register_budget_lines")[(city,)]
    assert {k: line[k] for k in ("assigned", "committed", "disbursed", "recovered")} == {
        "assigned": ASSIGNED,
        "committed": KEPT,
        "disbursed": ADVANCE,
        "recovered": RECOVERY,
    }
    assert (line["version"], line["updated_position"]) == (7, len(log.events))


# -- every fold ---------------------------------------------------------------------------------


def test_a_recorded_hole_in_the_log_is_passed_over_by_every_fold() -> None:
    hole = RecordedGap(
        position=6, found_at="2026-12-05T10:00:00.000000Z", found_by="admin", reason="Mất kết nối"
    )
    # the story with no event at position 6, and the same with the hole recorded there
    skipping = [
        e if e.position < 6 else Envelope(e.position + 1, e.event) for e in story().envelopes()
    ]
    recorded = [*skipping[:5], Envelope(6, hole), *skipping[5:]]
    for projection in (
        ProjectSpend,
        BudgetExecution,
        DepartmentActivity,
        TargetProgress,
        Journal,
        Registers,
    ):
        plain, holed = folded(projection, Log()), folded(projection, Log())
        plain.fold(skipping)
        holed.fold(recorded)
        for table in projection.TABLES:
            assert holed.rows(table.name).appended == plain.rows(table.name).appended
            assert rows(holed, table.name) == rows(plain, table.name), table.name
