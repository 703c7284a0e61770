"""What the tests share besides fixtures (the conftest.py files hold only fixtures).

- ``databases``: the PostgreSQL server of the tests and its per-test databases.
- ``people``: one user per role (``People``), granted through the service, and their headers.
- ``names``: fresh reference numbers and names.
- ``http``: what a test client's app holds.
- ``scenario``: ``Scenario``, an application walked to a status with valid commands.
- ``story``: ``Story``, the scenario with every other lifecycle step as one call each.
- ``refusals``: the error codes of API.md and ``refused``, which proves a refusal wrote nothing.
- ``strategies``: hypothesis strategies of what the ledger accepts.
- ``projections``: the projection tests' fresh databases, snapshots and random valid program.
- ``faults``: the fault suite's database, tokens and demo log (its processes and checks are in
  ``tests/faults/harness.py``, which ``bench/faults.py`` uses too).
"""
