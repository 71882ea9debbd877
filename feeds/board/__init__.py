"""Snapshot to Board: ranking, scoring and the differences between two boards. Pure functions."""
