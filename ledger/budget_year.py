"""BudgetYear: whether a budget year is open or closed (khóa sổ), and what its closes did.

A year is open until Sở Tài chính closes it. Closing carries the committed-but-unpaid money of
each of its city-budget lines over to the next year and cancels the rest (the lines' own
events, written in the same transaction as ``Closed``). While a year is closed, no command
may carry an effective date inside it (invariant 7), unless it is reopened with a reason;
closing it again carries over only what changed since. A year with no events is open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.errors import InvalidTransition, PeriodClosed
from ledger.messages import Message


def budget_year_id(budget_year: int) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"budget-year/{budget_year}")


class BudgetYear(LedgerAggregate):
    budget_year: int
    closed: bool
    closed_on: dt.date | None
    #: totals of every close of the year, net: what was carried out and cancelled
    carried_out: int
    cancelled: int
    closes: int

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Closed(LedgerAggregate.Created):
        """The first close of the year (its later closes are ``Reclosed``)."""

        budget_year: int
        carried_out: int
        cancelled: int

        def apply(self, aggregate: Any) -> None:
            aggregate.budget_year = self.budget_year
            aggregate.closed = True
            aggregate.closed_on = self.effective_date
            aggregate.carried_out = self.carried_out
            aggregate.cancelled = self.cancelled
            aggregate.closes = 1

    class Reclosed(LedgerAggregate.Event):
        carried_out: int
        cancelled: int

        def apply(self, aggregate: Any) -> None:
            aggregate.closed = True
            aggregate.closed_on = self.effective_date
            aggregate.carried_out += self.carried_out
            aggregate.cancelled += self.cancelled
            aggregate.closes += 1

    class Reopened(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.closed = False

    @classmethod
    def close_first(
        cls, budget_year: int, carried_out: int, cancelled: int, meta: Meta
    ) -> BudgetYear:
        check_closing_date(budget_year, meta.effective_date)
        return cls._create(
            cls.Closed,
            id=budget_year_id(budget_year),
            budget_year=budget_year,
            carried_out=carried_out,
            cancelled=cancelled,
            **meta.fields(),
        )

    def close_again(self, carried_out: int, cancelled: int, meta: Meta) -> None:
        if self.closed:
            raise InvalidTransition(already_closed(self.budget_year))
        check_closing_date(self.budget_year, meta.effective_date)
        self.trigger_event(
            self.Reclosed, carried_out=carried_out, cancelled=cancelled, **meta.fields()
        )

    def reopen(self, reason: str, meta: Meta) -> None:
        if not self.closed:
            raise InvalidTransition(not_closed(self.budget_year))
        self.trigger_event(self.Reopened, reason=reason, **meta.fields())

    def check_open(self, what: Message) -> None:
        if self.closed:
            raise PeriodClosed(
                Message(
                    "The budget year {budget_year} was closed on {closed_on}; {what} cannot be "
                    "dated in it unless Sở Tài chính reopens the year.",
                    budget_year=self.budget_year,
                    closed_on=_vn_date(self.closed_on),
                    what=what,
                )
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget_year": self.budget_year,
            "status": "closed" if self.closed else "open",
            "closed_on": self.closed_on.isoformat() if self.closed and self.closed_on else None,
            "closes": self.closes,
        }


def check_closing_date(budget_year: int, closed_on: dt.date) -> None:
    """A year is closed after it ends: its close is dated in the next year or later."""
    if closed_on.year <= budget_year:
        raise InvalidTransition(
            Message(
                "The budget year {budget_year} can be closed from 01/01/{next_year}; the close "
                "was dated {closed_on}.",
                budget_year=budget_year,
                next_year=budget_year + 1,
                closed_on=_vn_date(closed_on),
            )
        )


def already_closed(budget_year: int) -> Message:
    return Message("The budget year {budget_year} is already closed.", budget_year=budget_year)


def not_closed(budget_year: int) -> Message:
    return Message("The budget year {budget_year} is not closed.", budget_year=budget_year)


def _vn_date(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "?"
