"""Every projection, in the order they are caught up and listed, and all their tables."""

from __future__ import annotations

from sqlalchemy import MetaData

from projections.audit_trail import AuditTrail
from projections.base import SETS, Projection
from projections.budget_execution import BudgetExecution
from projections.department_activity import DepartmentActivity
from projections.estimates import Estimates
from projections.journal import Journal
from projections.merkle import MerkleTree
from projections.program import Program
from projections.project_spend import ProjectSpend
from projections.registers import Registers
from projections.target_progress import TargetProgress

PROJECTIONS: tuple[type[Projection], ...] = (
    ProjectSpend,
    TargetProgress,
    Journal,
    BudgetExecution,
    Estimates,
    Registers,
    AuditTrail,
    DepartmentActivity,
    Program,
    MerkleTree,
)

BY_NAME: dict[str, type[Projection]] = {p.NAME: p for p in PROJECTIONS}


def all_tables(metadata: MetaData | None = None) -> MetaData:
    """A MetaData holding both sets of every projection table (for migrations, replay)."""
    metadata = metadata or MetaData()
    for cls in PROJECTIONS:
        for table_def in cls.TABLES:
            for set_name in SETS:
                if f"{table_def.name}_{set_name}" not in metadata.tables:
                    table_def.make(metadata, set_name)
    return metadata
