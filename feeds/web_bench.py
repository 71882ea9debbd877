"""``chalkwall bench --web``: 200 people on the team page at once while the wall runs.

A real wall (``chalkwall run`` on the demo feed, SDL's dummy video driver unless ``DISPLAY`` is
set) and a real ``chalkwall web`` share one fresh state directory. ``chalkwall people invite``
makes a link for each of N people; then N scripted clients (httpx, one session each, signed in by
its own link) browse the pages in :data:`PAGES` in turn, with no pause, for the set time. Pages
that answer 404 (not built yet) are left out, so adding a page is adding its path. Mostly GETs:
on every other round each client also sends a thank-you from the Thanks page's form (its CSRF
token and one-time key, public or quiet, within the daily limit), and on the others asks the shop
for a small item (each person starts with points for a few) — what people do besides looking.

Reported: requests, errors, p50/p95/max page time, the wall's ``frame_p95_ms`` (from its status
file) before and during the load, the web server's CPU (share of one core) and RSS. The machine
is shared with the clients, so the figures are those of one box doing all three.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from feeds.db import feed_state_dir

PAGES: tuple[str, ...] = ("/", "/thanks", "/me", "/shop")  # what a signed-in person browses
STATUS_FILE = "status.json"  # the wall's status file in its state directory (display.health.STATUS_NAME)
READY_TIMEOUT = 60.0
WARM_UP_SECONDS = 20.0  # the wall's start (first frames, scene entries) out of its 600-frame window
BEFORE_SECONDS = 11.0  # then the wall alone: two status-file writes (every 5 s)
THANKS_EACH = 3  # thank-yous per client: the default [points] kudos_per_sender_per_day
SHOP_EACH = 3  # shop requests per client, each holding ITEM_COST of STARTING_POINTS
ITEM_COST = 10.0
STARTING_POINTS = 50.0
FIELD = re.compile(r'name="(csrf|key|item)" value="([^"]+)"')


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100) of ``values``; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n q / 100), at least the first
    return ordered[int(rank) - 1]


def cpu_seconds(stat_text: str) -> float:
    """User + system CPU seconds from the text of ``/proc/PID/stat`` (the name may hold spaces)."""
    fields = stat_text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_seconds(proc: Path) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (``schedstat``'s second
    field, summed over ``/proc/PID/task/*``): how much of a slow page is a busy machine."""
    total = 0
    for task in proc.glob("task/*/schedstat"):
        try:
            total += int(task.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def memory_mib(status_text: str, key: str = "VmRSS") -> float:
    """``VmRSS`` (or ``VmHWM``, the peak) in MiB from the text of ``/proc/PID/status``."""
    for line in status_text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def frame_p95(status_text: str) -> float | None:
    """The wall's ``frame_p95_ms`` from its status file's text; None when the screen is not drawing."""
    try:
        status = json.loads(status_text)
    except ValueError:
        return None
    if not isinstance(status, dict) or status.get("screen") != "on":
        return None
    value = status.get("frame_p95_ms")
    if not isinstance(value, (int, float)):
        return None
    return float(value)


@dataclass
class Result:
    people: int
    seconds: float
    pages: list[str]
    times: list[float] = field(default_factory=list)  # seconds per page, every request that answered
    post_times: list[float] = field(default_factory=list)  # seconds per form sent (thanks, shop), of those
    sent: dict[str, int] = field(default_factory=dict)  # forms sent and how they were answered ("thanks 303")
    errors: dict[str, int] = field(default_factory=dict)  # what went wrong, how often
    frame_before: list[float] = field(default_factory=list)  # the wall's frame p95 (ms), each status write
    frame_during: list[float] = field(default_factory=list)
    web_cpu_share: float = 0.0  # CPU seconds per second of load: 1.0 is one core
    web_waited_share: float = 0.0  # seconds its threads waited for a CPU, per second of load
    web_rss_mib: float = 0.0
    web_peak_rss_mib: float = 0.0
    client_cpu_share: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # the machine's 1-minute load, before and after

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def answered(self, what: str) -> None:
        self.sent[what] = self.sent.get(what, 0) + 1


def report(result: Result) -> str:
    ms = [t * 1000 for t in result.times]
    errors = sum(result.errors.values())
    detail = ", ".join(f"{what} ×{n}" for what, n in sorted(result.errors.items())) or "none"
    posts = [t * 1000 for t in result.post_times]
    sent = ", ".join(f"{what} ×{n:,}" for what, n in sorted(result.sent.items())) or "none"
    def frames(values: list[float]) -> str:
        return f"{percentile(values, 50):.1f} ms (max {max(values):.1f})" if values else "no status"
    return "\n".join([
        f"team page under load: {result.people} people signed in by link, browsing {' '.join(result.pages)} "
        f"without pause for {result.seconds:.0f} s, beside a running wall:",
        f"  requests {len(ms) + errors:,} ({(len(ms) + errors) / result.seconds:.0f}/s), errors {errors} ({detail})",
        f"  page time p50 {percentile(ms, 50):.0f} ms   p95 {percentile(ms, 95):.0f} ms   max {max(ms, default=0):.0f} ms",
        f"  forms sent: {sent} (p95 {percentile(posts, 95):.0f} ms)",
        f"  wall frame p95: before {frames(result.frame_before)}, during {frames(result.frame_during)}",
        f"  web server: CPU {result.web_cpu_share * 100:.0f}% of a core (and waiting for one "
        f"{result.web_waited_share * 100:.0f}% of the time), RSS {result.web_rss_mib:.0f} MiB "
        f"(peak {result.web_peak_rss_mib:.0f}); the clients: CPU {result.client_cpu_share * 100:.0f}% of a core",
        f"  machine: {os.cpu_count()} CPUs, load average {result.load_average[0]:.1f} before, "
        f"{result.load_average[1]:.1f} after",
    ])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chalkwall(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "display.cli", *args], env=env, **kwargs)  # type: ignore[call-overload]


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _ids(people: int) -> list[str]:
    return [f"bench{i:03d}" for i in range(people)]


def _stock(state: Path, ids: Sequence[str]) -> None:
    """What an admin and the floor would have done first: a small item in the shop, and points
    for each person (as a challenge's award) to ask for it a few times."""
    from feeds.game.ledger import Award, Ledger
    from feeds.game.shop import Shop

    shop = Shop(state)
    try:
        shop.add_item("Fika voucher", ITEM_COST, None, "tax_free")
    finally:
        shop.close()
    ledger = Ledger(state)
    try:
        for person in ids:
            ledger.award(Award("bench-start", "agent", person, "bench", STARTING_POINTS, "chalkwall"))
    finally:
        ledger.close()


def _invite(config: Path, people: int, env: dict[str, str], qr_dir: Path) -> list[str]:
    ids = _ids(people)
    done = subprocess.run([sys.executable, "-m", "display.cli", "people", "invite", *ids, "--config", str(config),
                           "--qr-dir", str(qr_dir)], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"chalkwall people invite failed: {done.stderr.strip()}")
    links = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if " " in line]
    if len(links) != people:
        raise RuntimeError(f"chalkwall people invite printed {len(links)} links for {people} people")
    return links


def _status(path: Path) -> dict[str, object]:
    try:
        found = json.loads(_read(path))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _wait(test: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} ended early: {_read(log)[-2000:]}")
        if test():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {READY_TIMEOUT:.0f} s: {_read(log)[-2000:]}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def _send(client: httpx.AsyncClient, kind: str, path: str, data: dict[str, str], result: Result) -> None:
    """One form, as the page's button sends it: a 303 is done; 409 (sold out, too few points) and
    429 (the day's thanks used up) are answers too, anything else an error."""
    start = time.perf_counter()
    try:
        reply = await client.post(path, data=data)
    except httpx.TransportError as exc:
        result.error(f"{kind} {type(exc).__name__}")
        return
    if reply.status_code in (303, 409, 429):
        result.post_times.append(time.perf_counter() - start)
        result.answered(f"{kind} {reply.status_code}")
    else:
        result.error(f"{kind} {reply.status_code}")


async def _person(base: str, link: str, pages: list[str], until: float, result: Result,
                  colleagues: Sequence[str] = ()) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:
        try:
            signed_in = await client.get(link)
        except httpx.TransportError as exc:
            result.error(f"sign-in {type(exc).__name__}")
            return
        if signed_in.status_code != 303:
            result.error(f"sign-in {signed_in.status_code}")
            return
        turn, thanked, asked = 0, 0, 0
        while time.monotonic() < until:
            page = pages[turn % len(pages)]
            odd_round = (turn // len(pages)) % 2 == 1
            turn += 1
            start = time.perf_counter()
            try:
                reply = await client.get(page)
            except httpx.TransportError as exc:
                result.error(type(exc).__name__)
                continue
            if reply.status_code != 200:
                result.error(f"{page} {reply.status_code}")
                continue
            result.times.append(time.perf_counter() - start)
            fields = dict(FIELD.findall(reply.text))  # the form fields (on the shop page: its one item)
            if page == "/thanks" and not odd_round and thanked < THANKS_EACH and colleagues and "key" in fields:
                to = colleagues[(turn + thanked) % len(colleagues)]
                thanked += 1
                await _send(client, "thanks", "/thanks", {
                    "csrf": fields.get("csrf", ""), "key": fields["key"], "to": to,
                    "text": f"Tack för hjälpen i dag ({thanked}) — спасибо!",
                    "visibility": "quiet" if thanked == 2 else "public"}, result)
            elif page == "/shop" and odd_round and asked < SHOP_EACH and "item" in fields:
                asked += 1
                await _send(client, "shop", "/shop/request", {"csrf": fields.get("csrf", ""), "item": fields["item"]},
                            result)


async def _load(base: str, links: list[str], pages: list[str], seconds: float, result: Result,
                sample: Callable[[], None], ids: Sequence[str] = ()) -> None:
    until = time.monotonic() + seconds
    people = [asyncio.create_task(_person(base, link, pages, until, result,
                                          [other for other in ids if other != ids[n]] if ids else ()))
              for n, link in enumerate(links)]

    async def sampler() -> None:
        while time.monotonic() < until:
            await asyncio.sleep(1.0)
            sample()

    await asyncio.gather(sampler(), *people)


def _pages_that_exist(base: str, link: str, pages: Sequence[str]) -> list[str]:
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as client:
        client.get(link)
        return [page for page in pages if client.get(page).status_code != 404]


def run(seconds: float = 60.0, people: int = 200, pages: Sequence[str] = PAGES,
        say: Callable[[str], None] = print) -> Result:
    """Start a wall and a team page on one fresh state directory and load the page for ``seconds``."""
    with tempfile.TemporaryDirectory(prefix="chalkwall-web-bench-") as tmp:
        root = Path(tmp)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        state = root / "state"
        config = root / "config.toml"
        config.write_text(f'[feed]\ntype = "demo"\n[state]\ndir = "{state}"\n'
                          f'[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "{base}"\n', encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in ("CHALKWALL_CONFIG", "NOTIFY_SOCKET", "RUNTIME_DIRECTORY")}
        wall_env = dict(env, SDL_AUDIODRIVER="dummy")
        if not env.get("DISPLAY"):
            wall_env["SDL_VIDEODRIVER"] = "dummy"
        wall_log, web_log = root / "wall.log", root / "web.log"
        status = state / STATUS_FILE
        with wall_log.open("wb") as wall_out, web_log.open("wb") as web_out:
            wall = _chalkwall(["run", "--config", str(config)], wall_env, stdout=wall_out, stderr=subprocess.STDOUT)
            web = _chalkwall(["web", "--config", str(config)], env,  # its access log on, as in service
                             stdout=web_out, stderr=subprocess.STDOUT)
        try:
            _wait(lambda: frame_p95(_read(status)) is not None, "the wall (chalkwall run)", wall, wall_log)
            _wait(lambda: _healthy(base), "the team page (chalkwall web)", web, web_log)
            say(f"web bench: a wall and a team page on {state}; inviting {people} people …")
            links = _invite(config, people, env, root / "qr")
            _stock(feed_state_dir(str(state), "demo"), _ids(people))  # the demo's ledger is its own
            found = _pages_that_exist(base, links[0], pages)
            result = Result(people, seconds, found)
            _wait(lambda: float(str(_status(status).get("uptime_s") or 0)) >= WARM_UP_SECONDS,
                  "the wall's warm-up", wall, wall_log)
            say(f"web bench: the wall alone for {BEFORE_SECONDS:.0f} s, then {people} clients on "
                f"{' '.join(found)} for {seconds:.0f} s …")
            last_written = [0.0]

            def take_frame(into: list[float]) -> None:
                text = _read(status)
                value = frame_p95(text)
                if value is None:
                    return
                written = float(json.loads(text).get("updated") or 0)  # frame_p95 found a JSON object
                if written != last_written[0]:
                    last_written[0] = written
                    into.append(value)

            deadline = time.monotonic() + BEFORE_SECONDS
            while time.monotonic() < deadline:
                take_frame(result.frame_before)
                time.sleep(0.5)
            load_before = os.getloadavg()[0]
            proc = Path(f"/proc/{web.pid}")
            web_cpu0, waited0 = cpu_seconds(_read(proc / "stat")), waited_seconds(proc)
            client_cpu0, t0 = time.process_time(), time.monotonic()
            rss: list[float] = []

            def sample() -> None:
                take_frame(result.frame_during)
                rss.append(memory_mib(_read(proc / "status")))

            asyncio.run(_load(base, links, found, seconds, result, sample, _ids(people)))
            elapsed = time.monotonic() - t0
            result.seconds = elapsed
            result.web_cpu_share = (cpu_seconds(_read(proc / "stat")) - web_cpu0) / elapsed
            result.web_waited_share = (waited_seconds(proc) - waited0) / elapsed
            result.client_cpu_share = (time.process_time() - client_cpu0) / elapsed
            result.web_rss_mib = max(rss, default=memory_mib(_read(proc / "status")))
            result.web_peak_rss_mib = memory_mib(_read(proc / "status"), "VmHWM")
            result.load_average = (load_before, os.getloadavg()[0])
            if wall.poll() is not None:
                result.error("the wall stopped")
        finally:
            _stop(web)
            _stop(wall)
    return result
