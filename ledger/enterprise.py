"""Enterprise: a business registered with its tax code. Corrections are events."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from ledger.base import LedgerAggregate, Meta
from ledger.commands import CorrectEnterprise, RegisterEnterprise
from ledger.errors import ValidationFailed
from ledger.messages import Message

CORRECTABLE = ("name", "district", "sector", "size")


class Enterprise(LedgerAggregate):
    tax_code: str
    name: str
    district: str
    sector: str
    size: str

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Registered(LedgerAggregate.Created):
        tax_code: str
        name: str
        district: str
        sector: str
        size: str

        def apply(self, aggregate: Any) -> None:
            aggregate.tax_code = self.tax_code
            aggregate.name = self.name
            aggregate.district = self.district
            aggregate.sector = self.sector
            aggregate.size = self.size

    class Corrected(LedgerAggregate.Event):
        changes: dict[str, str]
        reason: str

        def apply(self, aggregate: Any) -> None:
            for name, value in self.changes.items():
                setattr(aggregate, name, value)

    @classmethod
    def register(cls, cmd: RegisterEnterprise, meta: Meta) -> Enterprise:
        return cls._create(
            cls.Registered,
            id=uuid4(),
            tax_code=cmd.tax_code,
            name=cmd.name,
            district=cmd.district,
            sector=cmd.sector,
            size=cmd.size,
            **meta.fields(),
        )

    def correct(self, cmd: CorrectEnterprise, meta: Meta) -> None:
        changes = {
            name: value
            for name in CORRECTABLE
            if (value := getattr(cmd, name)) is not None and value != getattr(self, name)
        }
        if not changes:
            raise ValidationFailed(
                Message("The correction changes nothing: give at least one new value.")
            )
        self.trigger_event(self.Corrected, changes=changes, reason=cmd.reason, **meta.fields())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "tax_code": self.tax_code,
            "name": self.name,
            "district": self.district,
            "sector": self.sector,
            "size": self.size,
            "version": self.version,
        }
