"""The one registry of ``[feed] type``s. A new connector is one module that defines its
``ConnectorType`` and one line here; the config checker, ``chalkwall check``, the docs table
(docs/connectors/README.md) and the "did you mean" all read this table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from feeds.config.schema import FeedConfig, LoadedConfig
from feeds.connectors import demo, freshdesk, genesys, helpscout, hub, intercom, sources, zendesk
from feeds.connectors.base import Adapter, ConnectorType, Context
from feeds.db import feed_state_dir

CONNECTORS: dict[str, ConnectorType] = {t.name: t for t in (
    demo.TYPE,
    *sources.TYPES,
    zendesk.TYPE,
    freshdesk.TYPE,
    helpscout.TYPE,
    intercom.TYPE,
    genesys.TYPE,
    hub.TYPE,
)}


def make_adapter(feed: FeedConfig, base_dir: Path, clock: Callable[[], float] | None = None, *,
                 tz: str = "", state_dir: Path | None = None, sleep: Callable[[float], None] | None = None,
                 teams: tuple[str, ...] = ()) -> Adapter:
    """The connector for a validated feed config; FeedError when its secret cannot be read."""
    ctx = Context(base_dir, clock or Context.clock, tz, state_dir, sleep or Context.sleep, teams)
    return CONNECTORS[feed.type].make(feed, ctx)


def adapter_for(loaded: LoadedConfig, clock: Callable[[], float] | None = None,
                state_dir: Path | None = None, sleep: Callable[[float], None] | None = None) -> Adapter:
    """The connector for a loaded config, keeping its own state (cursors, the day's tallies) in the
    feed's state directory, or in ``state_dir`` (a preview's scratch directory)."""
    cfg = loaded.config
    directory = state_dir if state_dir is not None else feed_state_dir(cfg.state.dir, cfg.feed.type)
    return make_adapter(cfg.feed, loaded.base_dir, clock, tz=cfg.periods.zone, state_dir=directory, sleep=sleep,
                        teams=cfg.display.teams)


def docs_table() -> str:
    """The table of feed types in docs/connectors/README.md (a test keeps the two the same)."""
    rows = ["| `type` | what it reads | its own keys | `[feed.auth]` | default `interval` | page |",
            "|---|---|---|---|---|---|"]
    for t in CONNECTORS.values():
        own = sorted(f.name for f in dataclasses.fields(t.options)) if t.options is not None else sorted(t.keys)
        auth = ", ".join(sorted(a.replace("secret", "token_env or token_file") for a in t.auth)) or "—"
        page = f"[{t.doc}](../{t.doc})" if t.doc.startswith("feed") else f"[{t.name}]({t.name}.md)" if t.doc else "—"
        rows.append(f"| `{t.name}` | {t.summary} | {', '.join(f'`{k}`' for k in own) or '—'} | {auth} | "
                    f"{t.interval:g} s | {page} |")
    return "\n".join(rows) + "\n"
