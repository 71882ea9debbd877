"""``chalkwall hub status``: every screen, the source's freshness and the broker, from retained status.

It connects with the hub's own login (``[hub.auth]``) under a client id of its own — a clean,
throw-away session that never takes the hub's over (init-broker's local listener therefore does not
tie client ids to user names) — reads the hub's retained status and every screen's, and prints one
row per screen: every one in ``[hub] screens``, and any other seen. The exit code is 0 when every
listed screen is online, 1 otherwise (or when the broker cannot be reached), 2 for a config without
``[hub]``. A screen's "offline since" comes from the hub, which notes when each will arrived (a will
carries no time). Nothing secret is printed: the password is only handed to paho.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from feeds.bus.topics import BusError, Topics, read
from feeds.config.hub import HubConfig
from feeds.config.schema import LoadedConfig
from feeds.publish.hub import password_of

SILENT_AFTER = 120.0  # an "online" status not refreshed for this long is a screen that died without its will


@dataclass
class Seen:
    """What the broker holds: the hub's status and each screen's (raw payloads, read on the main thread)."""

    connected: threading.Event = field(default_factory=threading.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    refused: str | None = None
    hub: bytes | None = None
    screens: dict[str, bytes] = field(default_factory=dict)


def when(at: Any, now: float) -> str:
    if not isinstance(at, (int, float)) or isinstance(at, bool) or not at:
        return "?"
    local = time.localtime(at)
    text = time.strftime("%H:%M:%S" if abs(now - at) < 20 * 3600 else "%Y-%m-%d %H:%M", local)
    return f"{text} ({ago(now - at)})"


def ago(seconds: float) -> str:
    if seconds < 0:
        return f"in {ago(-seconds)}"  # a clock ahead of ours
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def collect(hub: HubConfig, base_dir: Path, timeout: float = 5.0, settle: float = 0.7) -> Seen | str:
    """Connect, read the retained statuses, disconnect; the reason in words when it cannot."""
    topics, seen = Topics(hub.site), Seen()
    user = hub.auth.username if hub.auth is not None else "hub"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user}-status-{os.getpid()}", protocol=mqtt.MQTTv5)
    if hub.auth is not None:
        client.username_pw_set(user, password_of(hub, base_dir))
    endpoint = hub.endpoint
    if endpoint.tls:
        ca = Path(hub.ca_file) if hub.ca_file else None
        ca = ca if ca is None or ca.is_absolute() else base_dir / ca
        client.tls_set(ca_certs=str(ca) if ca else None, cert_reqs=ssl.CERT_REQUIRED)

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            seen.refused = f"refused the login for {user!r} ({reason})"
        else:
            client.subscribe([(topics.hub_status, 1), (topics.screen_statuses, 1)])
        seen.connected.set()

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        found = topics.parse(message.topic)
        if found is None:
            return
        if found[0] == "hub":
            seen.hub = message.payload
        elif found[0] == "screen":
            seen.screens[found[1]] = message.payload

    client.on_connect = on_connect
    client.on_connect_fail = lambda *_: seen.connected.set()
    client.on_subscribe = lambda *_: seen.subscribed.set()
    client.on_message = on_message
    where = f"broker {endpoint.host}:{endpoint.port}"
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=10, clean_start=True)
    except (OSError, ssl.SSLError) as exc:
        return f"{where}: cannot connect ({type(exc).__name__}: {exc})"
    client.loop_start()
    try:
        if not seen.connected.wait(timeout):
            return f"{where}: no answer within {timeout:g} s"
        if seen.refused:
            return f"{where}: {seen.refused}"
        if not client.is_connected():
            return f"{where}: cannot connect (TLS failed? is [hub] ca_file the broker's CA?)"
        if seen.subscribed.wait(timeout):
            time.sleep(settle)  # retained messages follow the SUBACK at once; a moment for all of them
        return seen
    finally:
        client.disconnect()
        client.loop_stop()


def _decoded(payload: bytes | None, kind: str) -> dict[str, Any] | None:
    if not payload:
        return None
    try:
        return read(payload, kind)
    except BusError:
        return None


def render(hub: HubConfig, seen: Seen, now: float | None = None) -> tuple[str, bool]:
    """The table for people, and whether every listed screen is online."""
    now = time.time() if now is None else now
    status = _decoded(seen.hub, "hub_status")
    endpoint = hub.endpoint
    lines = [f"broker:  {endpoint.host}:{endpoint.port} ({'TLS' if endpoint.tls else 'plain, loopback'}), "
             f"connected as {hub.auth.username if hub.auth else 'anonymous'}"]
    noted: dict[str, Any] = {}
    if status is None:
        lines.append("hub:     no status on the broker (has 'chalkwall hub' ever run for site "
                     f"{hub.site!r}?)")
    else:
        state = status.get("state", "?")
        lines.append(f"hub:     {state}" + (f" since {when(status.get('started_at'), now)}, version "
                                            f"{status.get('version', '?')}" if state == "online" else
                                            " (its will: the hub is not running)"))
        source = status.get("source") or {}
        fresh = f"last good poll {when(source.get('last_success'), now)}" if source.get("last_success") else "never polled"
        lines.append(f"source:  {fresh}" + ("  — STALE" if source.get("stale") else "") +
                     (f"; error: {source['error']}" if source.get("error") else ""))
        if state == "online":
            lines.append(f"         (the hub's status is from {when(status.get('at'), now)})")
        noted = status.get("screens") or {}
    ids = list(dict.fromkeys([*hub.screens, *sorted(seen.screens), *sorted(noted)]))
    rows = [("screen", "state", "since", "version", "scene", "p95 ms", "board", "lag")]
    up = 0
    for sid in ids:
        body = _decoded(seen.screens.get(sid), "screen_status")
        note = noted.get(sid) if isinstance(noted.get(sid), dict) else {}
        state = body.get("state", "?") if body else "never seen"
        since = body.get("since") if body else None
        if body and state == "online" and isinstance(body.get("at"), (int, float)) and now - body["at"] > SILENT_AFTER:
            state = "silent"  # online, it said, but nothing since: it died without the broker noticing yet
            since = body["at"]
        if note.get("state") == state or since is None:  # the hub's note: on the hub's clock, and a will has no time
            since = note.get("since", since)
        online = state == "online"
        up += sid in hub.screens and online
        board = (body or {}).get("board") or {}
        lag = board.get("lag_s")
        rows.append((sid + ("" if sid in hub.screens else " (not in [hub] screens)"), state,
                     when(since, now) if since else "?",
                     str(body.get("version", "?")) if body and online else "",
                     str(body.get("scene") or ("off" if body.get("screen") == "off" else "?")) if body and online else "",
                     f"{body['frame_p95_ms']:.1f}" if body and online and isinstance(body.get("frame_p95_ms"), (int, float)) else "",
                     f"rev {board['rev']}" if online and board.get("rev") is not None else "",
                     f"{lag * 1000:.0f} ms" if online and isinstance(lag, (int, float)) and abs(lag) < 10 else
                     (f"{lag:.0f} s" if online and isinstance(lag, (int, float)) else "")))
    if len(rows) == 1:
        lines.append("screens: none listed in [hub] screens, none seen on the broker")
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines.append("")
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    listed = len(hub.screens)
    lines.append("")
    lines.append(f"{up} of {listed} listed screen(s) online" if listed else "no screens listed in [hub] screens")
    return "\n".join(lines), up == listed


def cmd_hub_status(loaded: LoadedConfig) -> int:
    hub = loaded.config.hub
    if hub is None:
        print(f"chalkwall: {loaded.label} has no [hub] section: 'chalkwall hub status' reads a hub's config "
              "(docs/hub.md)", file=sys.stderr)
        return 2
    if not hub.endpoint.loopback and hub.auth is not None:
        print(f"chalkwall: note: reading {hub.broker} as {hub.auth.username!r}; a listener that ties client ids "
              "to user names (init-broker's TLS listener does) knocks the hub off for a moment — point [hub] "
              "broker at the local listener, mqtt://127.0.0.1:1883", file=sys.stderr)
    try:
        seen = collect(hub, loaded.base_dir)
    except OSError as exc:
        print(f"chalkwall: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    if isinstance(seen, str):
        print(f"chalkwall: {seen}", file=sys.stderr)
        return 1
    text, all_online = render(hub, seen)
    print(text)
    return 0 if all_online else 1
