"""The edges: HTTP API and dashboard (Starlette), the `ledger` command line, the demo loader."""
