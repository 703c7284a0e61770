"""The lifecycle of a support application (ARCHITECTURE.md "Domain", invariant 4), written out
independently of ``ledger.support_application.ALLOWED``: the service's tests and the
aggregate's unit tests check the ledger against it."""

from __future__ import annotations

# The lifecycle of ARCHITECTURE.md, written out independently of ``ALLOWED``: action -> the
# statuses it is allowed from. Payments run from the contract until settlement; after
# settlement only recoveries; a reversal corrects a payment as long as the application is
# not settled.
LIFECYCLE: dict[str, set[str]] = {
    "return": {"submitted", "appraised"},
    "resubmit": {"returned"},
    "appraise": {"submitted"},
    "approve": {"appraised"},
    "reject": {"submitted", "returned", "appraised"},
    "withdraw": {"submitted", "returned", "appraised"},
    "sign a contract for": {"approved"},
    "pay": {"contracted", "accepted"},
    "reverse a payment of": {"contracted", "accepted", "acceptance_failed", "cancelled"},
    "record the acceptance of": {"contracted"},
    "settle": {"accepted"},
    "cancel": {"approved", "contracted", "acceptance_failed"},
    "order a recovery for": {"contracted", "accepted", "acceptance_failed", "settled", "cancelled"},
    "receive a recovery for": {
        "contracted",
        "accepted",
        "acceptance_failed",
        "settled",
        "cancelled",
    },
}

EVERY_STATUS = (
    "submitted",
    "returned",
    "appraised",
    "approved",
    "rejected",
    "withdrawn",
    "contracted",
    "accepted",
    "acceptance_failed",
    "settled",
    "cancelled",
)
