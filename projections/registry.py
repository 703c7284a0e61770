"""Every projection, in the order they are caught up and listed."""

from __future__ import annotations

from projections.audit_trail import AuditTrail
from projections.base import Projection
from projections.budget_execution import BudgetExecution
from projections.department_activity import DepartmentActivity
from projections.journal import Journal
from projections.merkle import MerkleTree
from projections.project_spend import ProjectSpend
from projections.registers import Registers
from projections.target_progress import TargetProgress

PROJECTIONS: tuple[type[Projection], ...] = (
    ProjectSpend,
    TargetProgress,
    Journal,
    BudgetExecution,
    Registers,
    AuditTrail,
    DepartmentActivity,
    MerkleTree,
)

BY_NAME: dict[str, type[Projection]] = {p.NAME: p for p in PROJECTIONS}
