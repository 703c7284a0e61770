"""What the tests share besides fixtures (the conftest.py files hold only fixtures, and no test
module imports another).

In memory, for the unit tests:

- ``domain``: the aggregates called directly (people, commands, an application walked to any
  status, a budget line), ``refused`` for an aggregate, and a ``Log`` of their events folded
  into a projection in memory.
- ``lifecycle``: the lifecycle of a support application written out, which the aggregate's
  and the service's tests both check.

Through the application service and its databases:

- ``databases``: the PostgreSQL server of the tests and its per-test databases.
- ``people``: one user per role (``People``), granted through the service, and their headers.
- ``names``: fresh reference numbers and names.
- ``scenario``: ``Scenario``, an application walked to a status with valid commands.
- ``story``: ``Story``, the scenario with every other lifecycle step as one call each.
- ``refusals``: the error codes of the HTTP contract (README) and ``refused``, which proves a
  refusal wrote nothing.
- ``strategies``: hypothesis strategies of what the ledger accepts.
- ``projections``: the projection tests' fresh databases, snapshots and random valid program.
- ``concurrency``: racing writers released together, and whether they met at the store.
- ``tampering``: the log hashed independently, and a superuser's plain SQL on the events.
- ``evidence``: the audit trail's CSV and XLSX exports read back.

At the edges:

- ``http``: what a test client's app holds, and the report routes.
- ``cli``: the ``ledger`` command run in-process, and its one-line refusals.
- ``faults``: the fault suite's database, tokens and demo log (its processes and checks are in
  ``tests/faults/harness.py``, which ``bench/faults.py`` uses too).
"""
