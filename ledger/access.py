"""Who may do what (README, the access table).

The policy lives in the domain so that every edge (HTTP, command line, demo loader) obeys
the same table. ``SYSTEM`` is the actor of work done from the server's own command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import commands as c
from ledger.errors import Forbidden
from ledger.messages import Message, Terms

#: The department that alone may approve support applications (the program's standing body).
APPROVING_DEPARTMENT = "SKHCN"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person (or system) on whose behalf a command runs."""

    user_id: str
    name: str
    role: str
    department: str


SYSTEM = Actor(user_id="system", name="Hệ thống (dòng lệnh)", role="admin", department="SKHCN")

OFFICER = frozenset({"officer"})
FINANCE = frozenset({"finance"})
ADMIN = frozenset({"admin"})
LEADER = frozenset({"leader"})

#: who may run each command (README, the access table)
ROLES_OF: dict[type[c.Command], frozenset[str]] = {
    c.RegisterEnterprise: OFFICER,
    c.CorrectEnterprise: OFFICER,
    c.AssignBudget: FINANCE,
    c.ReduceBudget: FINANCE,
    c.CloseBudgetYear: FINANCE,
    c.ReopenBudgetYear: FINANCE,
    c.AddSupportRule: FINANCE,
    c.ReportNeeds: OFFICER,
    c.DraftEstimate: OFFICER,
    c.AppraiseEstimate: FINANCE,
    c.ReturnEstimate: FINANCE,
    c.ApproveEstimate: LEADER,
    c.SubmitApplication: OFFICER,
    c.ReturnApplication: OFFICER,
    c.ResubmitApplication: OFFICER,
    c.AppraiseApplication: OFFICER,
    c.ApproveApplication: OFFICER,
    c.RejectApplication: OFFICER,
    c.WithdrawApplication: OFFICER,
    c.SignContract: OFFICER,
    c.RecordDisbursement: OFFICER,
    c.ReverseDisbursement: OFFICER,
    c.RecordAcceptance: OFFICER,
    c.SettleApplication: OFFICER,
    c.CancelApplication: OFFICER,
    c.OrderRecovery: FINANCE,
    c.ReceiveRecovery: FINANCE,
    c.ApproveActivity: OFFICER,
    c.RecordActivitySpending: OFFICER,
    c.CompleteActivity: OFFICER,
    c.GrantAccess: ADMIN,
    c.RevokeAccess: ADMIN,
    c.ChangeUser: ADMIN,
}

#: command action (``Command.action``) -> roles that may run it
PERMISSIONS: dict[str, frozenset[str]] = {cmd.action: roles for cmd, roles in ROLES_OF.items()}

#: what each command does, as a refusal names it ("approve application")
COMMAND = Terms("command", PERMISSIONS, english=lambda action: action.replace("_", " "))

#: Who holds which access (users' names, roles and departments, and why access was revoked)
#: is personnel data. The roles that may read it: admins, who manage users, and inspectors,
#: who audit who did what with which access (the access table: they "read everything"; checking
#: separation of duties needs the roles). Leaders read the program's records and reports,
#: not personnel files. ``GET /api/users`` and the audit trail (its report, past views and
#: files) both apply :func:`may_read_personnel`.
PERSONNEL_READERS = frozenset({"admin", "inspector"})
#: the records that are personnel data (aggregate names, as the audit trail's record types)
PERSONNEL_RECORDS = frozenset({"User", "Administrators"})


def may_read_personnel(actor: Actor | None) -> bool:
    """Whether ``actor`` may read personnel data (``None``: nobody signed in, never)."""
    return actor is not None and actor.role in PERSONNEL_READERS


ROLE_NAMES_VI = {
    "admin": "quản trị",
    "officer": "cán bộ nghiệp vụ",
    "finance": "tài chính",
    "leader": "lãnh đạo",
    "inspector": "thanh tra",
    "viewer": "người xem",
}


def require(actor: Actor, action: str) -> None:
    """Raise :class:`Forbidden` unless ``actor``'s role may run ``action``."""
    allowed = PERMISSIONS[action]
    if actor.role in allowed:
        return
    raise Forbidden(
        Message(
            "The role '{role}' may not {action}; needs {roles}.",
            role=actor.role,
            action=COMMAND(action),
            roles=", ".join(sorted(allowed)),
        )
    )
