"""``chalkwall check``: the config and its theme checked as the wall would load them, the warnings
a valid config still earns (contrast, viewing distance, the privacy profile's top_n, the QR code),
and with ``--online`` one poll of the feed checked against every metric the config names. The team
page's config page runs the same checks (``check_warnings``, ``theme_problems``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from feeds.config.privacy import top_n_warning
from feeds.config.schema import SCORE, Config, LoadedConfig, find_config
from feeds.connectors.registry import adapter_for, make_adapter
from feeds.config.validate import ConfigError, Problem, read_toml
from feeds.config.web import qr_warning
from feeds.model import FeedError, Snapshot


def fairness(cfg: Config) -> str:
    """The fair-ranking options in force, for ``check``'s summary line ("" when none are)."""
    board = cfg.board
    parts = [f"of {board.yardstick.challenge}'s targets"] if board.yardstick is not None else []
    parts += [f"{name} per hour" for name, spec in board.metrics.items() if spec.per_hour]
    if board.gate is not None:
        parts.append(f"gate {board.gate.metric} ≥ {board.gate.min:g} from {board.gate.sample} samples")
    if board.group_by:
        parts.append(f"per {board.group_by}")
    models = len(cfg.roles.role_models)
    if models:
        parts.append(f"{models} role model{'s' if models != 1 else ''} in config")
    return f" ({'; '.join(parts)})" if parts else ""
def _last_group(cfg: Any) -> int | None:
    """How many people the last board the wall saved held (read-only; None when there is none)."""
    from feeds.db import feed_state_dir, saved_board_json

    body = saved_board_json(feed_state_dir(cfg.state.dir, cfg.feed.type))
    try:
        return len(json.loads(body).get("agents", [])) if body else None
    except (ValueError, AttributeError):
        return None


def cmd_check(loaded: LoadedConfig, online: bool = False) -> int:
    """Validate the config and its theme (a ConfigError from the theme is reported by main) and,
    ``online``, the feed's data against the metric names the config uses."""
    cfg = loaded.config
    name, warnings = check_warnings(loaded)
    ranking = "score (" + ", ".join(cfg.board.score) + ")" if cfg.board.rank_by == SCORE else cfg.board.rank_by
    ranking += fairness(cfg)
    print(f"{loaded.label}: OK (feed: {cfg.feed.type}, every {cfg.feed.interval:g} s; ranked by {ranking}; "
          f"theme: {name})")
    for warning in warnings:
        print(f"warning: {warning}")
    return _check_online(loaded) if online else 0


def check_warnings(loaded: LoadedConfig) -> tuple[str, list[str]]:
    """The theme's name and what ``check`` warns about a valid config (contrast, viewing
    distance); ConfigError from the theme. The team page's config page runs this too."""
    from display.themes import contrast_warnings, load_theme

    cfg = loaded.config
    theme = load_theme(cfg.display.theme, loaded.base_dir, loaded.label)
    warnings = list(contrast_warnings(theme, f"theme {cfg.display.theme}"))
    top = top_n_warning(cfg.privacy, _last_group(cfg))
    if top:
        warnings.append(top)
    qr = qr_warning(cfg.web)
    if qr:
        warnings.append(qr)
    if cfg.display.viewing_distance > 0:
        import pygame

        from display.fonts import FontBook
        from display.legibility import distance_warnings, x_ratio

        pygame.font.init()  # to measure the theme's own x-height
        ratio = x_ratio(FontBook({"text": theme.fonts.text, "numbers": theme.fonts.numbers}))
        warnings += distance_warnings(theme, cfg.display, ratio, f"theme {cfg.display.theme}")
    return theme.name, warnings


def poll_once(loaded: LoadedConfig) -> Snapshot | None:
    """One poll of the configured feed; None (said on stderr) when it fails."""
    try:
        adapter = adapter_for(loaded)
        try:
            snapshot = adapter.poll()
        finally:
            adapter.close()
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        return None
    if snapshot is None:  # cannot happen on a first poll; guards a misbehaving adapter
        print("chalkwall: feed failed: no data on the first poll", file=sys.stderr)
    return snapshot


def _check_online(loaded: LoadedConfig) -> int:
    """Poll the feed once: exit 1 when it fails, 2 when its data lacks a metric the config names."""
    from dataclasses import replace

    from feeds.config.metricnames import metric_refs, missing_metrics

    cfg = loaded.config
    try:  # no state directory: checking writes nothing, not even an empty state file
        adapter = make_adapter(cfg.feed, loaded.base_dir, tz=cfg.periods.zone)
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        return 1
    probe = getattr(adapter, "probe", None)
    if probe is not None:  # a vendor API: one cheap call per sub-fetch, no backfill, no state written
        try:
            return _report_probes(cfg.feed.type, probe())
        finally:
            adapter.close()
    adapter.close()
    snapshot = poll_once(loaded)
    if snapshot is None:
        return 1
    missing = [replace(m, held=False) for m in missing_metrics(snapshot, metric_refs(cfg), cfg.board)]
    for problem in missing:
        print(f"{loaded.label}: {problem}", file=sys.stderr)
    if missing:
        print(f"chalkwall: {len(missing)} problem(s) with the feed's data", file=sys.stderr)
        return 2
    print(f"feed: OK ({len(snapshot.agents)} agents; every metric the config names is in the data)")
    return 0


def _report_probes(kind: str, probes: list[Any]) -> int:
    """What ``check --online`` found on a vendor API: exit 1 when any part of it cannot be read."""
    for p in probes:
        metrics = f" -> {', '.join(p.metrics)}" if p.metrics else ""
        if p.ok:
            print(f"{kind} {p.fetch}: OK ({p.message}){metrics}")
        else:
            empty = f"; the board will have no {', '.join(p.metrics)}" if p.metrics else ""
            print(f"{kind} {p.fetch}: FAILED: {p.message}{empty}", file=sys.stderr)
    bad = [p for p in probes if not p.ok]
    if bad:
        print(f"chalkwall: {len(bad)} of {len(probes)} part(s) of the {kind} feed cannot be read", file=sys.stderr)
        return 1
    print(f"feed: OK ({kind}: every part can be read)")
    return 0


def theme_problems(cli_path: str | None) -> list[Problem]:
    """The theme's problems, for ``check`` of a config that has its own: everything in one pass."""
    from display.themes import load_theme

    try:
        path, label = find_config(cli_path)
        data = read_toml(path, label)
    except ConfigError:
        return []  # the config's own problems already say so
    display = data.get("display")
    name = display.get("theme", "dark") if isinstance(display, dict) else "dark"
    try:
        if isinstance(name, str):
            load_theme(name, path.resolve().parent, label)
    except ConfigError as exc:
        return list(exc.problems)
    return []
