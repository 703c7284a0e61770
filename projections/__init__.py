"""Read models folded from the ledger's events (built by the projections issue)."""
