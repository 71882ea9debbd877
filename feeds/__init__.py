"""Data in: adapters, normalising, scoring, the ranked board and the coordinator. Never imports pygame."""
