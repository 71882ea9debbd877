"""The scripted minute: the whole ``chalkwall run`` process measured on a real X window.

A feed server on 127.0.0.1 serves twelve agents; chalkwall polls it every second. Every 2 s one
agent overtakes another, every 10 s someone completes a challenge. The real ``chalkwall run``
draws it fullscreen on an X display (Xvfb is started if none is given) and, after a warm-up,
its CPU time (user + system, from /proc/PID/stat) and its memory (PSS, from smaps_rollup) are read
over one minute. The server answers 304 when nothing changed, as a good feed does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NAMES = ("Åsa Ödegård", "Björn Källström", "Алексей Смирнов", "Ольга Кузнецова", "Priya Natarajan", "Kwame Mensah",
         "Märta Lindqvist", "José García", "Zoë Müller", "Дмитрий Волков", "Ingrid Sjöström", "Nguyễn Thị Lan")


class ScriptedFeed:
    """Canonical documents that change on a fixed script, by seconds since ``start``."""

    def __init__(self, still: bool = False) -> None:
        self.start = time.monotonic()
        self.still = still  # the same document forever: what a quiet afternoon costs

    def document(self) -> tuple[int, dict[str, Any]]:
        step = 0 if self.still else int((time.monotonic() - self.start) / 2)  # a new document every 2 s
        solved = [40 - 3 * i for i in range(len(NAMES))]
        for s in range(step):  # each step, one agent passes the one just above
            i = 1 + s % (len(NAMES) - 1)
            solved[i] = solved[i - 1] + 1
        agents = [{"id": f"a{i}", "name": n, "team": ("day", "night")[i % 2], "metrics": {"tickets_solved": solved[i]}}
                  for i, n in enumerate(NAMES)]
        events = [{"id": f"c{k}", "type": "challenge_completed", "agent": f"a{k % len(NAMES)}",
                   "challenge": "Solve 20 tickets today", "points": 20,
                   "at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
                  for k in range(step // 5 - 2, step // 5 + 1) if k >= 0]  # one new every 10 s
        teams = [{"id": "day", "name": "Day shift", "color": "#4a90e2"},
                 {"id": "night", "name": "Night shift", "color": "#9b59b6"}]
        return step, {"version": 1, "teams": teams, "agents": agents, "events": events}


def serve(feed: ScriptedFeed) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            step, doc = feed.document()
            etag = f'"{step}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            body = json.dumps(doc, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(seconds: float = 60.0, warm_up: float = 5.0, size: str = "1920x1080", still: bool = False) -> dict[str, float]:
    httpd = serve(ScriptedFeed(still))
    try:
        feed = f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:{httpd.server_address[1]}/feed"\ninterval = 1\n'
        result = measure(feed + '[display]\ntitle = "Scripted minute"\n', seconds, lambda _: time.sleep(warm_up), size)
    finally:
        httpd.shutdown()
    return result | {"still": float(still)}


def measure(config_text: str, seconds: float, warm_up: Callable[[Path], None],
            size: str = "1920x1080") -> dict[str, float]:
    """CPU and PSS of ``chalkwall run`` with this config (a ``[state]`` section is added) over
    ``seconds`` on X, after ``warm_up(state_dir)`` returns."""
    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        if not shutil.which("Xvfb"):
            raise RuntimeError("no X display and no Xvfb: install xvfb, or run with DISPLAY set")
        display = f":{90 + os.getpid() % 9}"
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        env["DISPLAY"] = display
        time.sleep(1.0)
    env.pop("SDL_VIDEODRIVER", None)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        state = Path(tmp) / "state"
        config.write_text(config_text + f'[state]\ndir = "{state}"\n')  # never the real ledger
        proc = subprocess.Popen([sys.executable, "-m", "display.cli", "run", "--config", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            warm_up(state)
            if proc.poll() is not None:
                raise RuntimeError(f"chalkwall run ended early: {proc.stderr.read() if proc.stderr else ''}")
            start_cpu = cpu_seconds(proc.pid)
            time.sleep(seconds)
            result = {"seconds": seconds, "startup_cpu_s": start_cpu, "cpu_s": cpu_seconds(proc.pid) - start_cpu,
                      "pss_mib": pss_mib(proc.pid)}
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            if xvfb is not None:
                xvfb.terminate()
    return result


def report(result: dict[str, float]) -> str:
    what = ("a still board (12 agents over HTTP every 1 s, nothing changing)" if result["still"] else
            "scripted minute (12 agents over HTTP every 1 s, a rank change every 2 s, a celebration every 10 s)")
    return (f"{what} on a real X window:\n  CPU {result['cpu_s']:.2f} s in {result['seconds']:.0f} s "
            f"(start-up {result['startup_cpu_s']:.2f} s before it), PSS {result['pss_mib']:.0f} MiB")
