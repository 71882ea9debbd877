"""``with_role_models`` (every poll, the whole floor) against the plain rule it stands for: the agents
named get role "role_model", nothing else changes, and an agent already marked is the same object."""

from __future__ import annotations

import dataclasses

from hypothesis import given, strategies as st

from feeds.board.build import with_role_models
from feeds.config.schema import ROLE_MODEL
from feeds.model import Agent, Snapshot

ids = st.sampled_from(["a", "b", "c", "d", "e"])
agents = st.lists(st.builds(Agent, ids, st.just("N"), role=st.sampled_from([None, ROLE_MODEL, "agent"])),
                  max_size=8, unique_by=lambda a: a.id)


@given(agents, st.frozensets(ids))
def test_the_named_agents_are_marked_and_nothing_else_changes(floor: list[Agent], named: frozenset[str]) -> None:
    snapshot = Snapshot(tuple(floor))
    out = with_role_models(snapshot, named)
    assert out.agents == tuple(a._replace(role=ROLE_MODEL) if a.id in named else a for a in floor)
    assert dataclasses.replace(out, agents=snapshot.agents) == snapshot
    for before, after in zip(floor, out.agents):
        if before.id not in named or before.role == ROLE_MODEL:
            assert after is before
    if all(a.role == ROLE_MODEL for a in floor if a.id in named):
        assert out is snapshot
