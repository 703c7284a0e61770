"""The budget's commands and queries, as a part of the application service.

:class:`BudgetDesk` is mixed into :class:`ledger.service.Ledger`: city-budget lines
(assignment, increase, reduction, the line a record draws on now), budget years (close with
carry-over, reopening; the check that no command is dated in a closed year) and support rules.
Each command method has the name of its command's ``action`` and runs like every other
command (who may, one unit of work, nothing written on a refusal); the rules themselves are
the aggregates' (``budget_line.py``, ``budget_year.py``, ``support_rule.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from sqlalchemy import Table, select

from ledger import catalogue, commands
from ledger.access import COMMAND, Actor
from ledger.base import Meta, Written
from ledger.budget_line import BUDGET_LINES, BudgetLine, budget_line_id, unpaid_by_record
from ledger.budget_line import FIGURES as LINE_FIGURES
from ledger.budget_year import BudgetYear, already_closed, budget_year_id, not_closed
from ledger.commands import Command, today
from ledger.errors import InsufficientBudget, InvalidTransition
from ledger.messages import Message
from ledger.program_activity import ProgramActivity
from ledger.repository import CommittedStateRepository
from ledger.support_application import SupportApplication
from ledger.support_rule import RuleVersion, SupportRules, support_rules_id
from ledger.unit_of_work import attempt
from ledger.vocabulary import CHANNEL

T = TypeVar("T")
A = TypeVar("A", bound=Aggregate)

CITY_BUDGET = catalogue.CITY_BUDGET


class BudgetDesk:
    """Budget lines, budget years and support rules (mixed into ``Ledger``)."""

    if TYPE_CHECKING:  # what the desk uses of the ledger it is mixed into
        repository: Any
        events: Any
        recorder: Any

        @property
        def engine(self) -> Any: ...
        @property
        def events_table(self) -> Table: ...
        def _run(self, cmd: Command, actor: Actor, work: Callable[[], T]) -> T: ...
        def _meta(
            self, actor: Actor, cmd: Command, effective_date: dt.date, **refs: str | None
        ) -> Meta: ...
        def _save(self, *aggregates: Aggregate | None) -> int: ...
        def _load(self, cls: type[A], aggregate_id: UUID, what: str) -> A: ...

    def _settled(self, aggregate_id: UUID) -> Any:
        repository = cast(CommittedStateRepository, self.repository)
        return repository.get_settled(aggregate_id, fresh=attempt() > 0)

    def _budget_year(self, budget_year: int) -> BudgetYear | None:
        """The budget year, served from memory inside a unit of work and checked under the
        lock before anything is written (``ledger/repository.py``, settled aggregates)."""
        year = self._settled(budget_year_id(budget_year))
        return cast(BudgetYear | None, year)

    def _check_year_open(self, budget_year: int, cmd: Command) -> None:
        year = self._budget_year(budget_year)
        if year is not None:
            year.check_open(
                Message(
                    "{action} ({command})", action=COMMAND(cmd.action), command=type(cmd).__name__
                )
            )

    def _line(
        self, budget_year: int, project: str, channel: str = catalogue.DEFAULT_CHANNEL
    ) -> BudgetLine | None:
        line_id = budget_line_id(budget_year, project, CITY_BUDGET, channel)
        # a line is the one record most commands that move money change: its writers queue
        # for it rather than race (``LedgerRecorder.queue_for``)
        self.recorder.queue_for(line_id)
        try:
            line: Aggregate = self.repository.get(line_id)
        except AggregateNotFoundError:
            return None
        return cast(BudgetLine, line)

    def _city_line(
        self, budget_year: int, project: str, channel: str = catalogue.DEFAULT_CHANNEL
    ) -> BudgetLine:
        line = self._line(budget_year, project, channel)
        if line is None:
            of_channel = (
                ""
                if channel == catalogue.DEFAULT_CHANNEL
                else Message(" ({channel})", channel=CHANNEL(channel))
            )
            raise InsufficientBudget(
                Message(
                    "No city-budget line{of_channel} has been assigned to {project} for "
                    "{budget_year}.",
                    of_channel=of_channel,
                    project=project,
                    budget_year=budget_year,
                )
            )
        return line

    def _release(self, line: BudgetLine, record_id: UUID, amount: int, meta: Meta) -> None:
        """Release a record's commitment; on the line of a closed year the money released (a
        recovery or a reversal after the close) goes back to the budget: it is cancelled at
        once, so the closed line still balances and nothing becomes available on it."""
        line.release(record_id, amount, meta)
        year = self._budget_year(line.budget_year)
        if year is not None and year.closed:
            line.cancel_rest(meta)

    def _drawing_line(self, record: SupportApplication | ProgramActivity) -> BudgetLine:
        """The line a record's commitment is on now: its approval's year, or a later year's
        after a close carried it over."""
        return self._city_line(
            cast(int, record.drawing_year), record.project, cast(str, record.channel)
        )

    # -- budget lines --------------------------------------------------------------------

    def assign_budget(self, cmd: commands.AssignBudget, actor: Actor) -> Written:
        """Assign a budget line; a second assignment to the same line adjusts it."""

        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            self._check_year_open(cmd.budget_year, cmd)
            line = self._line(cmd.budget_year, cmd.project, cmd.channel)
            if line is None:
                line = BudgetLine.assign(
                    cmd.budget_year, cmd.project, cmd.source, cmd.channel, cmd.amount, meta
                )
            else:
                line.adjust(cmd.amount, meta)
            return Written(line.id, self._save(line))

        return self._run(cmd, actor, work)

    def reduce_budget(self, cmd: commands.ReduceBudget, actor: Actor) -> Written:
        """Reduce a budget line by decision; refused below what it has committed."""

        def work() -> Written:
            meta = self._meta(actor, cmd, cmd.decided_on, decision_no=cmd.decision_no)
            self._check_year_open(cmd.budget_year, cmd)
            line = self._city_line(cmd.budget_year, cmd.project, cmd.channel)
            line.reduce(cmd.amount, cmd.reason, meta)
            return Written(line.id, self._save(line))

        return self._run(cmd, actor, work)

    # -- budget years ----------------------------------------------------------------------

    def close_budget_year(self, cmd: commands.CloseBudgetYear, actor: Actor) -> Written:
        """Close a budget year: per city-budget line of the year, carry each record's
        committed-but-unpaid money over to the same line of the next year (with its
        commitment; the record draws there from now on) and cancel the rest. Closing a
        reopened year again carries over only what changed since."""

        def work() -> Written:
            year = cmd.budget_year
            meta = self._meta(actor, cmd, cmd.closed_on)
            budget_year = self._budget_year(year)
            if budget_year is not None and budget_year.closed:
                raise InvalidTransition(already_closed(year))
            self._check_year_open(year + 1, cmd)  # what is carried over goes there
            changed: dict[UUID, Aggregate] = {}
            following: dict[tuple[str, str], BudgetLine] = {}
            carried_out = cancelled = 0
            for line in self._lines_of(year):
                unpaid = unpaid_by_record(cast(Any, self.events.get(line.id)))
                for record_id, amount in sorted(unpaid.items()):
                    key = (line.project, line.channel)
                    if key not in following:
                        following[key] = self._line(
                            year + 1, line.project, line.channel
                        ) or BudgetLine.carry_into(year + 1, line.project, line.channel, meta)
                    record = self._committing_record(record_id)
                    line.carry_out(record_id, amount, meta)
                    following[key].carry_in(record_id, amount, year, meta)
                    record.carry(year + 1, amount, meta)
                    carried_out += amount
                    changed[record.id] = record
                cancelled += line.cancel_rest(meta)
                changed[line.id] = line
            changed.update((line.id, line) for line in following.values())
            if budget_year is None:
                budget_year = BudgetYear.close_first(year, carried_out, cancelled, meta)
            else:
                budget_year.close_again(carried_out, cancelled, meta)
            position = self._save(budget_year, *changed.values())
            totals = {"carried_out": carried_out, "cancelled": cancelled}
            return Written(budget_year.id, position, totals)

        return self._run(cmd, actor, work)

    def reopen_budget_year(self, cmd: commands.ReopenBudgetYear, actor: Actor) -> Written:
        def work() -> Written:
            budget_year = self._budget_year(cmd.budget_year)
            if budget_year is None:
                raise InvalidTransition(not_closed(cmd.budget_year))
            budget_year.reopen(cmd.reason, self._meta(actor, cmd, today()))
            return Written(budget_year.id, self._save(budget_year))

        return self._run(cmd, actor, work)

    def _lines_of(self, budget_year: int) -> list[BudgetLine]:
        """Every city-budget line of the year, in (project, channel) order."""
        wanted = [
            line_id
            for line_id, (year, _, source, _) in BUDGET_LINES.items()
            if year == budget_year and source == CITY_BUDGET
        ]
        lines = [self._load(BudgetLine, i, "budget line") for i in self._existing(wanted)]
        lines.sort(key=lambda line: (line.project, line.channel))
        return lines

    def _committing_record(self, record_id: UUID) -> SupportApplication | ProgramActivity:
        record: Aggregate = self.repository.get(record_id)
        assert isinstance(record, SupportApplication | ProgramActivity), record
        return record

    # -- support rules ---------------------------------------------------------------------

    def add_support_rule(self, cmd: commands.AddSupportRule, actor: Actor) -> Written:
        """Set a support rule of a support type from a date (a later rule supersedes it)."""

        def work() -> Written:
            meta = self._meta(
                actor, cmd, cmd.legal_basis.signed_on, document_no=cmd.legal_basis.document_no
            )
            rules = self._support_rules(cmd.support_type) or SupportRules.open(
                cmd.support_type, meta
            )
            rule_id = rules.add(cmd, meta)
            return Written(rule_id, self._save(rules))

        return self._run(cmd, actor, work)

    def _support_rules(self, support_type: str) -> SupportRules | None:
        """A support type's rule book, read like a budget year (see ``_budget_year``)."""
        rules = self._settled(support_rules_id(support_type))
        return cast(SupportRules | None, rules)

    def rule_in_force(self, support_type: str, on: dt.date) -> RuleVersion | None:
        rules = self._support_rules(support_type)
        return None if rules is None else rules.in_force(on)

    def get_support_rules(
        self, support_type: str | None = None, on: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """Rules, newest first (by the date they take effect); with ``on``, only the rule
        in force on that date of each support type."""
        types = [support_type] if support_type else list(catalogue.SUPPORT_TYPES)
        found: list[RuleVersion] = []
        for code in types:
            rules = self._support_rules(code)
            if rules is None:
                continue
            if on is None:
                found.extend(rules.versions)
            elif (rule := rules.in_force(on)) is not None:
                found.append(rule)
        found.sort(key=lambda r: (r.effective_from, r.support_type), reverse=True)
        return [r.as_dict() for r in found]

    def get_budget_lines(
        self,
        budget_year: int | None = None,
        project: str | None = None,
        source: str | None = None,
        channel: str | None = None,
    ) -> list[dict[str, Any]]:
        """The city-budget lines (enterprise and other money is counterpart funding: a log
        written before that may hold lines of theirs, which are not budget lines)."""
        wanted = (budget_year, project, source, channel)
        candidates = [
            line_id
            for line_id, key in BUDGET_LINES.items()
            if key[2] == CITY_BUDGET
            and all(w is None or w == k for w, k in zip(wanted, key, strict=True))
        ]
        lines = [self._load(BudgetLine, i, "budget line") for i in self._existing(candidates)]
        lines.sort(key=lambda line: (line.budget_year, line.project, line.channel))
        return [line.as_dict() for line in lines]

    def _existing(self, ids: list[UUID]) -> list[UUID]:
        """Those of ``ids`` that name a record of the log."""
        if not ids:
            return []
        table = self.events_table
        query = select(table.c.originator_id).where(
            table.c.originator_id.in_(ids), table.c.originator_version == 1
        )
        with self.engine.connect() as connection:
            return [row[0] for row in connection.execute(query)]

    def get_budget_years(self) -> list[dict[str, Any]]:
        """Every budget year that has a city-budget line or a close, oldest first: open or
        closed, and its lines' totals."""
        totals: dict[int, dict[str, int]] = {}
        figures = (*LINE_FIGURES, "available")
        for line in self.get_budget_lines():
            row = totals.setdefault(line["budget_year"], dict.fromkeys(figures, 0))
            for name in figures:
                row[name] += line[name]
        years = sorted(
            set(totals)
            | {
                y
                for y in range(commands.FIRST_BUDGET_YEAR, commands.LAST_BUDGET_YEAR + 1)
                if y not in totals and self._budget_year(y) is not None
            }
        )
        answer = []
        for y in years:
            state = self._budget_year(y)
            answer.append(
                {
                    "budget_year": y,
                    "status": "closed" if state is not None and state.closed else "open",
                    "closed_on": (
                        state.closed_on.isoformat()
                        if state and state.closed and state.closed_on
                        else None
                    ),
                    **totals.get(y, dict.fromkeys(figures, 0)),
                }
            )
        return answer
