"""Test helpers: a real HTTP server on 127.0.0.1 with scripted replies, a fake clock, documents."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    chunks: list[bytes] | None = None  # sent chunked, with chunk_delay between
    chunk_delay: float = 0.0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    """A scripted HTTP server: ``routes[path]`` is a Reply or a function of the request's headers.
    With ``tls`` (a server-side SSLContext) it speaks HTTPS."""

    def __init__(self, tls: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.routes: dict[str, Reply | Callable[[dict[str, str]], Reply]] = {}
        self.requests: list[Seen] = []
        self.connections: list[Any] = []  # kept-alive client sockets, cut by stop()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                server.connections.append(self.connection)

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Seen(self.path, headers))
                route = server.routes.get(self.path.split("?")[0], Reply(404, b"not here"))
                reply = route(headers) if callable(route) else route
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.chunks is None:
                    if "Content-Length" not in reply.headers:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in reply.chunks:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(reply.chunk_delay)
                self.wfile.write(b"0\r\n\r\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Down: open connections are cut, and new ones refused from now on."""
        import socket

        self.httpd.shutdown()
        self.httpd.server_close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def json(self, path: str, doc: Any, **headers: str) -> None:
        self.routes[path] = Reply(200, json.dumps(doc).encode(), {"Content-Type": "application/json", **headers})


class FakeClock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def doc(*agents: dict[str, Any], teams: list[dict[str, Any]] | None = None,
        events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A canonical document; teams are derived from the agents unless given."""
    out: dict[str, Any] = {"version": 1, "agents": list(agents), "events": events or []}
    if teams is not None:
        out["teams"] = teams
    return out


def agent(agent_id: str, solved: float | None = None, team: str | None = None, **metrics: Any) -> dict[str, Any]:
    m = dict(metrics)
    if solved is not None:
        m["tickets_solved"] = solved
    out: dict[str, Any] = {"id": agent_id, "name": agent_id.capitalize(), "metrics": m}
    if team:
        out["team"] = team
    return out


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def base_config() -> str:
    """The repository's config.toml without its ``[privacy]`` section, for a test to add its own."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    start, end = text.index("\n[privacy]\n"), text.index("\n[state]\n")
    return text[:start] + text[end:]


def config_problems(tmp_path: Path, text: str) -> list[str]:
    """Every problem loading ``text`` as a config reports, with its path shown as "config.toml"."""
    from feeds.config.schema import load_config
    from feeds.config.validate import ConfigError

    path = write_config(tmp_path, text)
    try:
        load_config(str(path))
    except ConfigError as exc:
        return [str(p).replace(str(path), "config.toml") for p in exc.problems]
    raise AssertionError("the config loaded without a problem")


class WallProcess:
    """``chalkwall run`` in a real subprocess (SDL's dummy video driver: no display needed; or on
    the X display ``display``, e.g. an Xvfb's), its JSON log lines collected as they arrive, and
    its status file at hand."""

    def __init__(self, config: Path, state: Path, prefix: tuple[str, ...] = (), runtime: Path | None = None,
                 display: str | None = None, size: str = "640x360") -> None:
        import os
        import subprocess
        import sys

        drop = ("CHALKWALL_CONFIG", "NOTIFY_SOCKET", "DISPLAY", "SDL_VIDEODRIVER")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(SDL_AUDIODRIVER="dummy", XDG_STATE_HOME=str(state))
        env.update({"DISPLAY": display} if display else {"SDL_VIDEODRIVER": "dummy"})
        if runtime is not None:  # the status file there, as with systemd's RuntimeDirectory=
            env["RUNTIME_DIRECTORY"] = str(runtime)
        self.status_file = (runtime or state / "chalkwall") / "status.json"
        self.records: list[tuple[float, dict[str, Any]]] = []  # (arrival time, record)
        self.lines: list[str] = []
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "display.cli", "run", "--windowed", "--size",
                                      size, "--config", str(config), "--log-format", "json"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            try:
                self.records.append((time.monotonic(), json.loads(line)))
            except ValueError:
                pass

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for _, r in self.records if r.get("event") == name]

    def wait_for(self, test: Callable[[dict[str, Any]], bool], timeout: float, after: int = 0) -> tuple[float, dict[str, Any]]:
        """The first log record (from index ``after``) that passes ``test``, and when it arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, record in self.records[after:]:
                if test(record):
                    return arrived, record
            assert self.proc.poll() is None, "chalkwall exited:\n" + "".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no such log record within {timeout} s:\n" + "".join(self.lines[-30:]))

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def wait_status(self, test: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.status()
            if found and test(found):
                return found
            assert self.proc.poll() is None, "chalkwall exited:\n" + "".join(self.lines)
            time.sleep(0.1)
        raise AssertionError(f"status never matched within {timeout} s: {self.status()}\n" + "".join(self.lines[-30:]))

    def stop(self) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no clean-up of any kind
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def seed_history(directory: Path, now: float, until_hour: int = 11) -> None:
    """A floor that has run for a week, for pictures of the history scene mid-day: six earlier days'
    finals, yesterday hour by hour from 07:00 (floor, teams, a few agents), and today's hours from
    07:00 until ``until_hour``."""
    from datetime import datetime, timezone

    from feeds.game.history import History
    from feeds.periods import Calendar

    cal = Calendar("UTC")
    today = cal.period("day", datetime.fromtimestamp(now, timezone.utc))
    history = History(directory)
    day = today
    for total in (351, 330, 365, 298, 342, 310):
        day = cal.previous(day)
        history.record(day.key, [("floor", "all", "tickets_solved", float(total))])
    yesterday = cal.previous(today)
    teams = {"night": 0.36, "day": 0.31, "escalations": 0.33}
    agents = {"zoe": 0.04, "marta": 0.065, "kwame": 0.1, "jose": 0.07}
    for hour in range(7, 19):
        floor = 351.0 * min(1.0, (hour - 6) / 11)
        rows = [("floor", "all", "tickets_solved", round(floor))]
        rows += [("team", t, "tickets_solved", round(floor * share)) for t, share in teams.items()]
        rows += [("agent", a, "tickets_solved", round(floor * share)) for a, share in agents.items()]
        history.sample(yesterday.key, hour * 60, rows, force=True)
    history.record(cal.previous(yesterday).key, [("agent", "olga", "tickets_solved", 30.0)])
    for hour in range(7, until_hour):
        history.sample(today.key, hour * 60 + 5, [("floor", "all", "tickets_solved", 100.0 * (hour - 6))], force=True)
    history.close()


def records(stream: Any) -> list[dict[str, Any]]:
    """The JSON log lines written to ``stream`` (the ``logs`` fixture)."""
    import json

    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def events_named(stream: Any, name: str) -> list[dict[str, Any]]:
    return [r for r in records(stream) if r["event"] == name]
