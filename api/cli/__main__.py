"""``python -m api.cli``: the ``ledger`` command line."""

from api.cli import main

main()
