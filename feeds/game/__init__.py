"""The motivation engine: challenges, the points ledger, history, comparisons and payouts."""
