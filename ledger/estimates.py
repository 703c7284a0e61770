"""The annual estimate's commands and queries, as a part of the application service.

:class:`EstimateDesk` is mixed into :class:`ledger.service.Ledger`: each method has the name
of its command's ``action`` and runs like every other command (who may, one unit of work,
nothing written on a refusal). The stages and their guards are the aggregate's
(``ledger/annual_estimate.py``); the draft's arithmetic is ``ledger/estimate_method.py``.

The draft reads its figures from the read models, through a provider the edges install
(``Ledger.estimate_inputs``: the HTTP app and the command line do, with
``projections/estimate_inputs.py``); the ledger layer knows no read model. The provider is
called before the unit of work (it may wait for the read models to catch up with the log),
and the position it read at is recorded on the draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, Protocol, TypeVar, cast

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger import catalogue, commands
from ledger.access import APPROVING_DEPARTMENT, Actor, require
from ledger.annual_estimate import (
    ACTION,
    APPRAISED,
    COLLECTING,
    DRAFTED,
    RETURNED,
    AnnualEstimate,
    LineKey,
    annual_estimate_id,
    line_key,
)
from ledger.base import Meta, Written
from ledger.budget_line import BudgetLine, format_vnd
from ledger.commands import Command, today
from ledger.errors import (
    EstimateInputsUnavailable,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from ledger.estimate_method import EstimateInputs, Need, draft_lines
from ledger.messages import SEMICOLON, Joined, Message
from ledger.unit_of_work import in_unit_of_work
from ledger.vocabulary import CHANNEL, SOURCE

T = TypeVar("T")

#: what the edges install on the ledger: budget year -> the draft's inputs, read from the
#: read models at one position (the needs are the estimate's own, added by the ledger)
InputsProvider = Callable[[int], EstimateInputs]

#: the stages at which the estimate may still be drafted
DRAFTABLE = (COLLECTING, DRAFTED, RETURNED)

#: inputs read ahead by :meth:`EstimateDesk.prepared_draft`, for a draft run in this context
_prepared: ContextVar[EstimateInputs | None] = ContextVar("prepared_estimate", default=None)


class _Service(Protocol):
    """What the desk uses of the ledger it is mixed into."""

    estimate_inputs: InputsProvider | None

    @property
    def repository(self) -> Any: ...

    def _run(self, cmd: Command, actor: Actor, work: Callable[[], T]) -> T: ...

    def _meta(
        self, actor: Actor, cmd: Command, effective_date: dt.date, **refs: str | None
    ) -> Meta: ...

    def _save(self, *aggregates: Aggregate | None) -> int: ...

    def _check_year_open(self, budget_year: int, cmd: Command) -> None: ...

    def _line(self, budget_year: int, project: str, channel: str = ...) -> BudgetLine | None: ...

    def get_budget_lines(
        self,
        budget_year: int | None = None,
        project: str | None = None,
        source: str | None = None,
        channel: str | None = None,
    ) -> list[dict[str, Any]]: ...


def _estimate(service: _Service, budget_year: int) -> AnnualEstimate | None:
    try:
        found: Aggregate = service.repository.get(annual_estimate_id(budget_year))
    except AggregateNotFoundError:
        return None
    return cast(AnnualEstimate, found)


def _existing(service: _Service, budget_year: int, action: str) -> AnnualEstimate:
    estimate = _estimate(service, budget_year)
    if estimate is None:
        raise InvalidTransition(
            Message(
                "Cannot {action} the estimate of {budget_year}: nothing has been reported or "
                "drafted for it yet.",
                action=ACTION(action),
                budget_year=budget_year,
            )
        )
    return estimate


def _read_inputs(service: _Service, budget_year: int) -> EstimateInputs:
    provider = service.estimate_inputs
    if provider is None:
        raise EstimateInputsUnavailable(
            Message(
                "The estimate's figures are read from the read models, and no reader of them "
                "is installed here: draft through the HTTP API or `ledger estimate draft`."
            )
        )
    return provider(budget_year)


def _label(key: LineKey) -> Message:
    project, source, channel = key
    return Message(
        "{project} {source} {channel}",
        project=project,
        source=SOURCE(source),
        channel=CHANNEL(channel),
    )


def _order(key: LineKey) -> tuple[int, int]:
    project, _, channel = key
    return (list(catalogue.PROJECTS).index(project), list(catalogue.CHANNELS).index(channel))


class EstimateDesk:
    """The annual estimate's commands and queries (mixed into ``Ledger``)."""

    #: installed by the edges: see the module's docstring
    estimate_inputs: InputsProvider | None = None

    # -- commands ----------------------------------------------------------------------------

    def report_needs(self: _Service, cmd: commands.ReportNeeds, actor: Actor) -> Written:
        """A department's needs for the year: recorded with the actor's department, until
        the estimate is appraised."""
        if not catalogue.support_type_allowed(cmd.support_type, cmd.project):
            raise ValidationFailed(
                Message(
                    "The support type {support_type} is not one of {project}'s.",
                    support_type=cmd.support_type,
                    project=cmd.project,
                ),
                errors=(
                    FieldProblem(
                        ("body", "support_type"),
                        Message("not a type of {project}", project=cmd.project),
                    ),
                ),
            )

        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.reported_on or today())
            estimate = _estimate(self, cmd.budget_year) or AnnualEstimate.open(
                cmd.budget_year, meta
            )
            need_id = estimate.report_needs(
                cmd.project, cmd.support_type, cmd.enterprises, cmd.amount, cmd.note, meta
            )
            return Written(need_id, self._save(estimate))

        return self._run(cmd, actor, work)

    def draft_estimate(self: _Service, cmd: commands.DraftEstimate, actor: Actor) -> Written:
        """Draft (or redraft) the estimate from the read models' figures and the needs;
        ``extra`` holds the version, the position read at and the lines."""
        require(actor, cmd.action)
        if actor.department != APPROVING_DEPARTMENT:
            raise Forbidden(
                Message(
                    "Only officers of {approving} draft the program's estimate; {department} "
                    "reports its needs instead.",
                    approving=APPROVING_DEPARTMENT,
                    department=actor.department,
                )
            )
        year = cmd.budget_year
        found = _estimate(self, year)
        if found is not None:
            found.check_stage("draft", DRAFTABLE)  # before the figures are read
        inputs = _prepared.get()
        if inputs is None or inputs.budget_year != year:
            if in_unit_of_work():  # the read models cannot catch up under its transaction
                raise EstimateInputsUnavailable(
                    Message(
                        "A draft inside another unit of work needs its figures read beforehand "
                        "(Ledger.prepared_draft)."
                    )
                )
            inputs = _read_inputs(self, year)

        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.prepared_on)
            estimate = _estimate(self, year) or AnnualEstimate.open(year, meta)
            estimate.check_stage("draft", DRAFTABLE)
            keys = ("department", "project", "support_type", "enterprises", "amount")
            needs = tuple(Need(*(n[k] for k in keys)) for n in estimate.needs)
            lines = draft_lines(replace(inputs, needs=needs))
            version = estimate.draft(inputs.position, lines, meta)
            extra = {"version": version, "read_at": inputs.position, "lines": lines}
            return Written(estimate.id, self._save(estimate), extra)

        return self._run(cmd, actor, work)

    def appraise_estimate(self: _Service, cmd: commands.AppraiseEstimate, actor: Actor) -> Written:
        """Sở Tài chính's appraisal of the latest draft: lines not listed keep the draft's
        amount; a listed line whose amount differs from the draft's (or that the draft lacks)
        needs a reason."""

        def work() -> Written:
            estimate = _existing(self, cmd.budget_year, "appraise")
            estimate.check_stage("appraise", (DRAFTED,))
            meta = self._meta(actor, cmd, cmd.appraised_on)
            draft = estimate.latest_draft
            assert draft is not None
            drafted = {line_key(line): line["amount"] for line in draft["lines"]}
            given: dict[LineKey, commands.EstimateLine] = {}
            problems: list[FieldProblem] = []
            for i, line in enumerate(cmd.lines):
                key = (line.project, line.source, line.channel)
                if key in given:
                    problems.append(
                        FieldProblem(
                            ("body", "lines", i),
                            Message("{line} is listed twice", line=_label(key)),
                        )
                    )
                    continue
                given[key] = line
                before = drafted.get(key)
                if line.amount != before and line.reason is None:
                    was = (
                        Message("not in the draft")
                        if before is None
                        else Message("drafted {amount}", amount=format_vnd(before))
                    )
                    problems.append(
                        FieldProblem(
                            ("body", "lines", i, "reason"),
                            Message(
                                "{line}: {amount} ({was}) needs a reason",
                                line=_label(key),
                                amount=format_vnd(line.amount),
                                was=was,
                            ),
                        )
                    )
            if problems:
                raise ValidationFailed(
                    Message(
                        "Every change from the draft needs its reason: {problems}.",
                        problems=Joined([p.msg for p in problems], SEMICOLON),
                    ),
                    errors=tuple(problems),
                )
            lines = []
            for key in sorted(set(drafted) | set(given), key=_order):
                before = drafted.get(key)
                listed = given.get(key)
                amount = listed.amount if listed is not None else cast(int, before)
                lines.append(
                    {
                        "project": key[0],
                        "source": key[1],
                        "channel": key[2],
                        "drafted": before,
                        "amount": amount,
                        "change": amount - (before or 0),
                        "reason": listed.reason if listed is not None else None,
                    }
                )
            estimate.appraise(lines, meta)
            return Written(estimate.id, self._save(estimate))

        return self._run(cmd, actor, work)

    def return_estimate(self: _Service, cmd: commands.ReturnEstimate, actor: Actor) -> Written:
        """Send the draft back to Sở KH&CN for redrafting, with the reason."""

        def work() -> Written:
            estimate = _existing(self, cmd.budget_year, "return")
            estimate.check_stage("return", (DRAFTED,))
            meta = self._meta(actor, cmd, cmd.returned_on or today())
            estimate.return_for_redrafting(cmd.reason, meta)
            return Written(estimate.id, self._save(estimate))

        return self._run(cmd, actor, work)

    def approve_estimate(self: _Service, cmd: commands.ApproveEstimate, actor: Actor) -> Written:
        """The city's approval: assigns the year's budget lines from the appraised lines, in
        the same transaction (a line that exists already, opened by a carry-over or assigned
        before, is adjusted by the approved amount)."""

        def work() -> Written:
            year = cmd.budget_year
            estimate = _existing(self, year, "approve")
            estimate.check_stage("approve", (APPRAISED,))
            if cmd.decided_on.year > year:
                raise ValidationFailed(
                    Message(
                        "The estimate of {year} is approved before or during {year}, not on "
                        "{decided_on:%d/%m/%Y}.",
                        year=year,
                        decided_on=cmd.decided_on,
                    ),
                    errors=(
                        FieldProblem(("body", "decided_on"), Message("after {year}", year=year)),
                    ),
                )
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            self._check_year_open(year, cmd)
            changed: list[Aggregate] = [estimate]
            for line in estimate.approve(cmd.decision_no, meta):
                budget_line = self._line(year, line["project"], line["channel"])
                if budget_line is None:
                    budget_line = BudgetLine.assign(
                        year, line["project"], line["source"], line["channel"], line["amount"], meta
                    )
                else:
                    budget_line.adjust(line["amount"], meta)
                changed.append(budget_line)
            return Written(estimate.id, self._save(*changed))

        return self._run(cmd, actor, work)

    @contextmanager
    def prepared_draft(self: _Service, budget_year: int) -> Iterator[None]:
        """Read the draft's figures now, for a :meth:`draft_estimate` of ``budget_year`` run in
        this context inside a unit of work (as an Idempotency-Key's request is): the read
        models cannot be caught up under its transaction."""
        token = _prepared.set(_read_inputs(self, budget_year))
        try:
            yield
        finally:
            _prepared.reset(token)

    # -- queries -------------------------------------------------------------------------------

    def get_estimate(self: _Service, budget_year: int) -> dict[str, Any]:
        """The estimate of a year: its status, needs, every draft, the returns, the appraisal
        with its changes, the approval and the budget lines it assigned (as they stand)."""
        estimate = _estimate(self, budget_year)
        if estimate is None:
            raise NotFound(
                Message(
                    "No estimate for {budget_year} yet: it opens with the first needs reported "
                    "or the first draft.",
                    budget_year=budget_year,
                )
            )
        return _answer(self, estimate)

    def get_estimates(self: _Service) -> list[dict[str, Any]]:
        """Every year's estimate, oldest first."""
        found = (
            _estimate(self, year)
            for year in range(commands.FIRST_BUDGET_YEAR, commands.LAST_BUDGET_YEAR + 1)
        )
        return [_answer(self, e) for e in found if e is not None]


def _answer(service: _Service, estimate: AnnualEstimate) -> dict[str, Any]:
    answer = estimate.as_dict()
    answer["id"] = str(estimate.id)
    lines: list[dict[str, Any]] = []
    if estimate.approval is not None:
        assigned = {line_key(line) for line in estimate.approval["lines"]}
        lines = [
            line
            for line in service.get_budget_lines(estimate.budget_year)
            if line_key(line) in assigned
        ]
    answer["budget_lines"] = lines
    return answer
