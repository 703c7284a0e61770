"""The sets of the program catalogue's codes that messages name (``ledger/messages.py``):
a funding source, a channel of the city budget. Each reads as its code in English, as
before, and by its Vietnamese name in Vietnamese (the catalogue ``ledger.po``)."""

from __future__ import annotations

from ledger import catalogue
from ledger.messages import Message, Terms

SOURCE = Terms("funding source", catalogue.SOURCES)
CHANNEL = Terms("channel", catalogue.CHANNELS)

#: the kinds of record a refusal may not find
RECORD = Terms("record", ("application", "enterprise", "activity", "user", "budget line"))
#: the numbers that are unique in the ledger (a second one is a ``duplicate``)
NUMBER = Terms("unique number", ("tax code", "dossier number", "contract number", "voucher number"))


def not_found(what: str, record_id: object) -> Message:
    """``No application with id …``: the refusal of a ``what`` (a :data:`RECORD`) not found."""
    return Message("No {what} with id {record_id}.", what=RECORD(what), record_id=record_id)
