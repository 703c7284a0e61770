"""NaturalKey: the claim of a unique business number (tax code, dossier, contract, voucher).

Its id is derived from the kind and the number, so two writers claiming the same number in
the same moment collide on the event store's unique (id, version) index: one wins, the other
is retried and then told ``duplicate``. The claim is saved in the same transaction as the
record that owns it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta


def natural_key_id(kind: str, value: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"natural-key/{kind}/{value.strip().casefold()}")


class NaturalKey(LedgerAggregate):
    kind: str
    value: str
    owner_id: UUID

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Claimed(LedgerAggregate.Created):
        kind: str
        value: str
        owner_id: UUID

        def apply(self, aggregate: Any) -> None:
            aggregate.kind = self.kind
            aggregate.value = self.value
            aggregate.owner_id = self.owner_id

    @classmethod
    def claim(cls, kind: str, value: str, owner_id: UUID, meta: Meta) -> NaturalKey:
        return cls._create(
            cls.Claimed,
            id=natural_key_id(kind, value),
            kind=kind,
            value=value,
            owner_id=owner_id,
            **meta.fields(),
        )
