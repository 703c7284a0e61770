"""The lifecycle of a support application, a program activity and an enterprise, as the
application service enforces it (ARCHITECTURE.md "Domain", invariant 4).

Every action is tried from every status: from a status it is allowed in, it appends exactly
one event and moves the application on; from any other status it is refused with
``invalid_transition`` and nothing is written.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from uuid import UUID, uuid4

import pydantic
import pytest

from ledger import commands as c
from ledger.enterprise import Enterprise
from ledger.errors import InvalidTransition, ValidationFailed
from ledger.service import Ledger, Written
from ledger.support_application import ALLOWED, STATUSES
from tests.support.databases import BACKENDS, PostgresDatabases
from tests.support.lifecycle import EVERY_STATUS, LIFECYCLE
from tests.support.people import People, grant_people
from tests.support.refusals import refused
from tests.support.scenario import YEAR, D
from tests.support.story import CITY, ENTERPRISE, PAYMENT, Reached, Story, figures, status


@dataclass(frozen=True)
class Action:
    name: str  # short, for test ids
    run: Callable[[Story, Reached], object]
    event: str  # the event it appends to the application's history
    becomes: str | None  # the status it leads to; None: the status stays


ACTIONS: dict[str, Action] = {
    "return": Action("return", lambda s, r: s.send_back(r.application_id), "Returned", "returned"),
    "resubmit": Action(
        "resubmit", lambda s, r: s.resubmit(r.application_id), "Resubmitted", "submitted"
    ),
    "appraise": Action(
        "appraise", lambda s, r: s.appraise(r.application_id), "Appraised", "appraised"
    ),
    "approve": Action(
        "approve",
        lambda s, r: s.approve_by(s.people.approver, r.application_id),
        "Approved",
        "approved",
    ),
    "reject": Action("reject", lambda s, r: s.reject(r.application_id), "Rejected", "rejected"),
    "withdraw": Action(
        "withdraw", lambda s, r: s.withdraw(r.application_id), "Withdrawn", "withdrawn"
    ),
    "sign a contract for": Action(
        "sign", lambda s, r: s.sign(r.application_id), "ContractSigned", "contracted"
    ),
    "pay": Action("pay", lambda s, r: s.pay(r.application_id, PAYMENT), "Disbursed", None),
    "reverse a payment of": Action(
        "reverse",
        # Where no payment can exist yet, any id: the status is checked first.
        lambda s, r: s.reverse(r.application_id, r.payment_id or uuid4()),
        "DisbursementReversed",
        None,
    ),
    "record the acceptance of": Action(
        "accept", lambda s, r: s.accept(r.application_id), "AcceptanceRecorded", "accepted"
    ),
    "settle": Action("settle", lambda s, r: s.settle(r.application_id), "Settled", "settled"),
    "cancel": Action("cancel", lambda s, r: s.cancel(r.application_id), "Cancelled", "cancelled"),
    "order a recovery for": Action(
        "order-recovery", lambda s, r: s.order_recovery(r.application_id), "RecoveryOrdered", None
    ),
    "receive a recovery for": Action(
        "receive-recovery",
        lambda s, r: s.receive_recovery(r.application_id, r.recovery_id or uuid4()),
        "RecoveryReceived",
        None,
    ),
}

ALLOWED_PAIRS = [
    pytest.param(action, from_status, id=f"{ACTIONS[action].name}-from-{from_status}")
    for action, statuses in LIFECYCLE.items()
    for from_status in EVERY_STATUS
    if from_status in statuses
]
REFUSED_PAIRS = [
    pytest.param(action, from_status, id=f"{ACTIONS[action].name}-from-{from_status}")
    for action, statuses in LIFECYCLE.items()
    for from_status in EVERY_STATUS
    if from_status not in statuses
]


def test_the_ledger_enforces_the_lifecycle_this_suite_checks() -> None:
    assert set(STATUSES) == set(EVERY_STATUS)
    assert {action: set(statuses) for action, statuses in ALLOWED.items()} == LIFECYCLE
    assert set(ACTIONS) == set(ALLOWED)


@pytest.mark.parametrize(("action", "from_status"), ALLOWED_PAIRS)
def test_an_allowed_action_appends_one_event_and_moves_the_application_on(
    ledger: Ledger, people: People, action: str, from_status: str
) -> None:
    story = Story(ledger, people)
    story.budget()
    reached = story.reach(from_status)
    app_id = reached.application_id
    assert status(ledger, app_id) == from_status
    history = ledger.get_application_history(app_id)
    position = ledger.position()

    ACTIONS[action].run(story, reached)

    after = ledger.get_application_history(app_id)
    assert after[:-1] == history, "the earlier events are never touched"
    assert after[-1]["type"] == ACTIONS[action].event
    assert after[-1]["position"] > position
    assert status(ledger, app_id) == (ACTIONS[action].becomes or from_status)


@dataclass(frozen=True)
class Gallery:
    """One application in every status, on one database per backend, shared by the refusal
    tests of this module: a refused command writes nothing, so they leave it as it was (and
    each test checks that it found its application in the status it expects)."""

    story: Story
    reached: dict[str, Reached]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test, once per module here (the gallery lives as long)."""
    return str(request.param)


@pytest.fixture(scope="module")
def gallery(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gallery]:
    with ExitStack() as cleanup:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("gallery") / "ledger.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            url = f"sqlite:///{path}"
        else:
            databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
            name, url = databases.create()
            cleanup.callback(databases.drop, name)
        ledger = Ledger(url)
        cleanup.callback(ledger.engine.dispose)
        story = Story(ledger, grant_people(ledger))
        story.budget()
        yield Gallery(story, {s: story.reach(s) for s in EVERY_STATUS})


@pytest.mark.parametrize(("action", "from_status"), REFUSED_PAIRS)
def test_an_action_out_of_lifecycle_order_is_refused_and_writes_nothing(
    gallery: Gallery, action: str, from_status: str
) -> None:
    story, reached = gallery.story, gallery.reached[from_status]
    assert status(story.ledger, reached.application_id) == from_status

    error = refused(
        story.ledger,
        InvalidTransition,
        lambda: ACTIONS[action].run(story, reached),
        reached.application_id,
    )

    assert from_status in error.detail


def test_an_application_walks_the_whole_lifecycle_and_its_history_tells_it(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    # The enterprise applies; the dossier comes back once for a missing report.
    app_id = story.submitted(CITY, ENTERPRISE)
    story.send_back(app_id)
    story.resubmit(app_id)
    # Appraisal, approval by a third officer, contract.
    story.appraise(app_id)
    story.approve_by(people.approver, app_id)
    story.sign(app_id)
    # An advance, a payment that turns out wrong and is reversed, the final payment.
    story.pay(app_id, 20_000_000, "advance")
    wrong = story.pay(app_id, 35_000_000)
    story.reverse(app_id, wrong)
    story.pay(app_id, 40_000_000)
    # Accepted, settled; an audit later finds 3,000,000 overpaid and it is paid back.
    story.accept(app_id, "passed")
    story.settle(app_id)
    recovery_id = story.order_recovery(app_id, 3_000_000)
    story.receive_recovery(app_id, recovery_id)

    history = ledger.get_application_history(app_id)
    assert [row["type"] for row in history] == [
        "Submitted",
        "Returned",
        "Resubmitted",
        "Appraised",
        "Approved",
        "ContractSigned",
        "Disbursed",
        "Disbursed",
        "DisbursementReversed",
        "Disbursed",
        "AcceptanceRecorded",
        "Settled",
        "RecoveryOrdered",
        "RecoveryReceived",
    ]
    positions = [row["position"] for row in history]
    assert positions == sorted(positions)
    assert history[4]["actor"] == people.approver.user_id
    assert history[4]["department"] == "SKHCN"
    assert history[4]["effective_date"] == "2015-03-01"
    state = ledger.get_application(app_id)
    assert state["status"] == "settled"
    assert (state["disbursed"], state["recovered"]) == (60_000_000, 3_000_000)
    assert state["outputs"] == {"management_systems": 1}
    assert figures(ledger) == {
        "assigned": 100_000_000,
        "committed": 57_000_000,
        "disbursed": 60_000_000,
        "recovered": 3_000_000,
        "available": 43_000_000,
    }


def test_a_resubmitted_application_must_be_appraised_again_before_approval(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    # Appraised, then sent back by the approver's office and resubmitted.
    app_id = story.appraised(CITY, ENTERPRISE)
    story.send_back(app_id)
    story.resubmit(app_id)
    assert ledger.get_application(app_id)["recommended"] is None
    # The old appraisal no longer counts.
    refused(ledger, InvalidTransition, lambda: story.approve_by(people.approver, app_id), app_id)
    story.appraise(app_id)
    story.approve_by(people.approver, app_id)
    assert status(ledger, app_id) == "approved"


# -- program activities ---------------------------------------------------------------------------


def test_an_activity_is_approved_spent_and_completed_against_its_budget_line(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    # Approval commits the activity's budget on the line.
    activity_id = story.activity(budget=30_000_000)
    assert ledger.get_activity(activity_id)["status"] == "approved"
    assert figures(ledger)["committed"] == 30_000_000
    # Two spendings.
    story.spend(activity_id, 12_000_000)
    story.spend(activity_id, 8_000_000)
    assert ledger.get_activity(activity_id)["spent"] == 20_000_000
    # Completion releases what was not spent.
    story.complete(activity_id)
    activity = ledger.get_activity(activity_id)
    assert (activity["status"], activity["version"]) == ("completed", 4)
    assert figures(ledger) == {
        "assigned": 100_000_000,
        "committed": 20_000_000,
        "disbursed": 20_000_000,
        "recovered": 0,
        "available": 80_000_000,
    }


def test_spending_on_a_completed_activity_is_refused(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    activity_id = story.activity(budget=30_000_000)
    story.spend(activity_id, 10_000_000)
    story.complete(activity_id)
    before = ledger.get_activity(activity_id)

    refused(ledger, InvalidTransition, lambda: story.spend(activity_id, 1_000_000))

    assert ledger.get_activity(activity_id) == before


def test_a_completed_activity_cannot_be_completed_again(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    activity_id = story.activity(budget=30_000_000)
    story.complete(activity_id)
    assert figures(ledger)["committed"] == 0

    refused(ledger, InvalidTransition, lambda: story.complete(activity_id))

    assert ledger.get_activity(activity_id)["version"] == 2


# -- enterprise corrections ----------------------------------------------------------------------


def correct(ledger: Ledger, people: People, enterprise_id: UUID, **changes: str) -> Written:
    return ledger.correct_enterprise(
        c.CorrectEnterprise(
            enterprise_id=enterprise_id,
            corrected_on=D(YEAR, 6, 1),
            reason="Sai tên khi đăng ký",
            **changes,  # type: ignore[arg-type]
        ),
        people.officer,
    )


def test_a_correction_of_an_enterprise_is_a_new_event_and_the_registration_stays(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    enterprise_id = story.enterprise()
    registered = ledger.get_enterprise(enterprise_id)
    position = ledger.position()

    correct(ledger, people, enterprise_id, name="Công ty CP Minh Phát", district="QH-BADINH")

    corrected = ledger.get_enterprise(enterprise_id)
    assert (corrected["name"], corrected["district"]) == ("Công ty CP Minh Phát", "QH-BADINH")
    assert corrected["tax_code"] == registered["tax_code"]
    assert corrected["version"] == registered["version"] + 1
    assert ledger.position() == position + 1
    # The registration is still there, as it was written.
    as_registered: Enterprise = ledger.repository.get(enterprise_id, version=registered["version"])
    assert as_registered.as_dict() == registered


@pytest.mark.parametrize(
    "changes",
    [{}, {"name": "Công ty TNHH Minh Phát"}, {"district": "QH-CAUGIAY", "size": "small"}],
    ids=["no-field", "same-name", "same-district-and-size"],
)
def test_a_correction_that_changes_nothing_is_refused(
    ledger: Ledger, people: People, changes: dict[str, str]
) -> None:
    story = Story(ledger, people)
    enterprise_id = story.enterprise()
    before = ledger.get_enterprise(enterprise_id)

    refused(ledger, ValidationFailed, lambda: correct(ledger, people, enterprise_id, **changes))

    assert ledger.get_enterprise(enterprise_id) == before


def test_a_tax_code_cannot_be_corrected() -> None:
    with pytest.raises(pydantic.ValidationError, match="tax_code"):
        c.CorrectEnterprise(
            enterprise_id=uuid4(),
            corrected_on=D(YEAR, 6, 1),
            reason="Sai mã số thuế",
            tax_code="0101234567",  # type: ignore[call-arg]
        )
