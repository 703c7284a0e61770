"""SupportRules: the support rules (mức hỗ trợ) of one support type, version after version.

Sở Tài chính sets, for a support type, the most the city budget pays: a share of the cost and
an amount, with the document that sets them and the date they take effect. A later rule for
the same type supersedes the earlier from its own date; an approval is held to the rule in
force on its decision date (invariant 6). With no rule in force there is no cap. The real
figures are not in decision 6374/QĐ-UBND: the ledger stores what Sở Tài chính enters.

One aggregate per support type holds every version, so an approval reads one record and a
rule added while an approval is being decided is seen by one or the other, never half.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.budget_line import format_vnd
from ledger.commands import AddSupportRule
from ledger.errors import Duplicate, RuleViolation
from ledger.messages import Message


def support_rules_id(support_type: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"support-rules/{support_type}")


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """One rule: in force from ``effective_from`` until the next version's date."""

    id: UUID
    support_type: str
    max_share_percent: int
    max_amount: int
    document_no: str
    signed_on: dt.date
    effective_from: dt.date

    def limit(self, total_cost: int) -> int:
        """The most the city budget may pay of an application costing ``total_cost``."""
        return min(self.max_amount, self.max_share_percent * total_cost // 100)

    def check(self, total_cost: int, city_budget: int, dossier_no: str) -> None:
        limit = self.limit(total_cost)
        if city_budget > limit:
            raise RuleViolation(
                Message(
                    "The city-budget share {city_budget} of application {dossier_no} is above "
                    "the support rule for {support_type} in force since "
                    "{effective_from:%d/%m/%Y} (document {document_no} of "
                    "{signed_on:%d/%m/%Y}): at most {max_share}% of the cost and at most "
                    "{max_amount}, here {limit}.",
                    city_budget=format_vnd(city_budget),
                    dossier_no=dossier_no,
                    support_type=self.support_type,
                    effective_from=self.effective_from,
                    document_no=self.document_no,
                    signed_on=self.signed_on,
                    max_share=self.max_share_percent,
                    max_amount=format_vnd(self.max_amount),
                    limit=format_vnd(limit),
                )
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "support_type": self.support_type,
            "max_share_percent": self.max_share_percent,
            "max_amount": self.max_amount,
            "legal_basis": {
                "document_no": self.document_no,
                "signed_on": self.signed_on.isoformat(),
            },
            "effective_from": self.effective_from.isoformat(),
        }


class SupportRules(LedgerAggregate):
    support_type: str
    versions: list[RuleVersion]

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Opened(LedgerAggregate.Created):
        support_type: str

        def apply(self, aggregate: Any) -> None:
            aggregate.support_type = self.support_type
            aggregate.versions = []

    class RuleSet(LedgerAggregate.Event):
        rule_id: UUID
        max_share_percent: int
        max_amount: int
        document_no: str
        signed_on: dt.date
        effective_from: dt.date

        def apply(self, aggregate: Any) -> None:
            version = RuleVersion(
                self.rule_id,
                aggregate.support_type,
                self.max_share_percent,
                self.max_amount,
                self.document_no,
                self.signed_on,
                self.effective_from,
            )
            aggregate.versions = sorted(
                [*aggregate.versions, version], key=lambda v: v.effective_from
            )

    @classmethod
    def open(cls, support_type: str, meta: Meta) -> SupportRules:
        return cls._create(
            cls.Opened,
            id=support_rules_id(support_type),
            support_type=support_type,
            **meta.fields(),
        )

    def add(self, cmd: AddSupportRule, meta: Meta) -> UUID:
        for version in self.versions:
            if version.effective_from == cmd.effective_from:
                raise Duplicate(
                    Message(
                        "A support rule for {support_type} already takes effect on "
                        "{effective_from:%d/%m/%Y} (document {document_no}); a new rule takes "
                        "effect on another date.",
                        support_type=self.support_type,
                        effective_from=cmd.effective_from,
                        document_no=version.document_no,
                    )
                )
        rule_id = uuid4()
        self.trigger_event(
            self.RuleSet,
            rule_id=rule_id,
            max_share_percent=cmd.max_share_percent,
            max_amount=cmd.max_amount,
            document_no=cmd.legal_basis.document_no,
            signed_on=cmd.legal_basis.signed_on,
            effective_from=cmd.effective_from,
            **meta.fields(),
        )
        return rule_id

    def in_force(self, on: dt.date) -> RuleVersion | None:
        """The rule in force on ``on`` (the latest taking effect on or before it)."""
        chosen = None
        for version in self.versions:
            if version.effective_from <= on:
                chosen = version
        return chosen
