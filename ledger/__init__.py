"""The NSCL ledger's domain and application service.

Start at :mod:`ledger.service` (the one door for every change), :mod:`ledger.commands` (what a
user can ask), :mod:`ledger.catalogue` (the decision's reference data) and the aggregates:
:mod:`ledger.enterprise`, :mod:`ledger.support_application`, :mod:`ledger.program_activity`,
:mod:`ledger.budget_line`, :mod:`ledger.user`, :mod:`ledger.natural_key`. This package imports
nothing from ``projections`` or ``api``.
"""
