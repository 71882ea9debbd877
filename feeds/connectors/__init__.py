"""Data in: one connector per source behind one registry (``registry.CONNECTORS``), each turning its
source into the canonical Snapshot; the HTTP policy (``transport``) that every one of them uses.
"""
