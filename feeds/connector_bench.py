"""``chalkwall bench --connector NAME``: what a native connector costs on a big floor's day.

It serves a seeded day (500 agents, 12,500 tickets by default) from the connector's fake vendor API
(tests/fakes/, so a source checkout is needed), on a fake clock, and measures:

- the **cold backfill**: polls, requests and CPU until a first start has read the day from local
  midnight to mid-afternoon (the budget spreads it over polls, as on a real account);
- the **steady poll**: a poll a minute later, with a minute's changes — its CPU in the connector's
  own thread, and the part of that beyond HTTP (sending, receiving and decoding JSON are left out).

The fake server runs in threads of the same process; only the connector's thread is timed
(``time.thread_time``), so the fake's own work is not counted.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.config.schema import parse_config, placed

ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "CHALKWALL_BENCH_SECRET"


@dataclass(frozen=True)
class Vendor:
    fake: str  # module:class under tests/fakes
    config: Callable[[str, Any], str]  # (base URL, fake class) -> the [feed] part of a config
    secret: Callable[[Any], str]


VENDORS: dict[str, Vendor] = {
    "zendesk": Vendor("fakes.zendesk:ZendeskFake",
                      lambda url, fake: f'[feed]\ntype = "zendesk"\nsubdomain = "bench"\nbase_url = "{url}"\n'
                                        f'[feed.auth]\nemail = "{fake.EMAIL}"\ntoken_env = "{TOKEN_ENV}"\n',
                      lambda fake: fake.TOKEN),
    "freshdesk": Vendor("fakes.freshdesk:FreshdeskFake",
                        lambda url, fake: f'[feed]\ntype = "freshdesk"\nsubdomain = "bench"\nbase_url = "{url}"\n'
                                          f'[feed.auth]\ntoken_env = "{TOKEN_ENV}"\n',
                        lambda fake: fake.API_KEY),
    "genesys": Vendor("fakes.genesys:GenesysFake",
                      lambda url, fake: f'[feed]\ntype = "genesys"\nbase_url = "{url}"\nlogin_url = "{url}"\n'
                                        f'[feed.auth]\nclient_id = "{fake.CLIENT_ID}"\ntoken_env = "{TOKEN_ENV}"\n'
                                        '[board]\nrank_by = "calls_handled"\n',
                      lambda fake: fake.CLIENT_SECRET),
    "intercom": Vendor("fakes.intercom:IntercomFake",
                       lambda url, fake: f'[feed]\ntype = "intercom"\nbase_url = "{url}"\n'
                                         f'[feed.auth]\ntoken_env = "{TOKEN_ENV}"\n',
                       lambda fake: fake.TOKEN),
    "helpscout": Vendor("fakes.helpscout:HelpScoutFake",
                        lambda url, fake: f'[feed]\ntype = "helpscout"\nbase_url = "{url}"\n'
                                          f'[feed.auth]\nclient_id = "{fake.CLIENT_ID}"\ntoken_env = "{TOKEN_ENV}"\n',
                        lambda fake: fake.CLIENT_SECRET),
}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _fake_class(vendor: Vendor) -> Any:
    tests = ROOT / "tests"
    if not (tests / "fakes").is_dir():
        raise SystemExit("chalkwall bench --connector needs a source checkout (the fake vendor APIs live in tests/fakes)")
    sys.path.insert(0, str(tests))
    module, _, name = vendor.fake.partition(":")
    return getattr(__import__(module, fromlist=[name]), name)


def run(name: str, agents: int = 500, tickets: int = 12_500) -> dict[str, float]:
    """Print and return the figures for connector ``name``."""
    if name not in VENDORS:
        raise SystemExit(f"chalkwall bench --connector: no benchmark for {name!r} (there is: {', '.join(VENDORS)})")
    vendor = VENDORS[name]
    fake_cls = _fake_class(vendor)
    from fakes.scenario import make_scenario  # type: ignore[import-not-found]

    from feeds.connectors.kit.api import ApiClient
    from feeds.connectors.registry import adapter_for

    scenario = make_scenario(seed=3, agents=agents, tickets=tickets, calls=tickets)
    clock = FakeClock(scenario.at(15, 0))
    fake = fake_cls(scenario, clock).start()
    sent = [0.0]  # seconds of connector-thread CPU inside HTTP (send, receive, decode)
    real_request = ApiClient.request

    def timed_request(self: ApiClient, *args: Any, **kw: Any) -> Any:
        t0 = time.thread_time()
        try:
            return real_request(self, *args, **kw)
        finally:
            sent[0] += time.thread_time() - t0

    ApiClient.request = timed_request  # type: ignore[method-assign]
    os.environ[TOKEN_ENV] = vendor.secret(fake_cls)
    try:
        with tempfile.TemporaryDirectory(prefix="chalkwall-bench-") as tmp:
            text = vendor.config(fake.base_url, fake_cls) + f'[periods]\ntimezone = "{scenario.tz}"\n[state]\ndir = "{tmp}"\n'
            path = Path(tmp) / "config.toml"
            path.write_text(text)
            loaded = placed(parse_config(__import__("tomllib").loads(text), str(path)), str(path), path)
            adapter = adapter_for(loaded, clock=clock, sleep=clock.sleep)
            interval = loaded.config.feed.interval
            polls, cpu, before = 0, 0.0, len(fake.requests)
            while True:  # the cold start: until it is no longer catching up
                t0 = time.thread_time()
                snapshot = adapter.poll()
                cpu += time.thread_time() - t0
                polls += 1
                if snapshot is not None and not getattr(adapter, "catching_up", False) or polls >= 200:
                    break
                clock.sleep(interval)
            cold = {"polls": polls, "requests": len(fake.requests) - before, "cpu_s": cpu,
                    "clock_minutes": (clock.now - scenario.at(15, 0)) / 60}
            steady_cpu, steady_beyond, steady_requests = [], [], []
            for _ in range(10):
                clock.sleep(interval)
                before, sent[0] = len(fake.requests), 0.0
                t0 = time.thread_time()
                adapter.poll()
                spent = time.thread_time() - t0
                steady_cpu.append(spent)
                steady_beyond.append(spent - sent[0])
                steady_requests.append(len(fake.requests) - before)
            adapter.close()
    finally:
        ApiClient.request = real_request  # type: ignore[method-assign]
        fake.stop()
    counted = "calls_handled" if name == "genesys" else "tickets_solved"
    solved = sum(a.metrics.get(counted, 0) for a in snapshot.agents) if snapshot else 0
    out = {"cold_polls": cold["polls"], "cold_requests": cold["requests"], "cold_cpu_s": cold["cpu_s"],
           "steady_cpu_ms": 1000 * statistics.median(steady_cpu),
           "steady_beyond_http_ms": 1000 * statistics.median(steady_beyond),
           "steady_requests": statistics.median(steady_requests)}
    print(f"connector {name}: {agents} agents, {tickets:,} tickets in the day, interval {interval:g} s")
    print(f"  cold backfill to 15:00: {cold['polls']} poll{'s' if cold['polls'] != 1 else ''} ({cold['clock_minutes']:.0f} min of clock), "
          f"{cold['requests']} requests, {cold['cpu_s']:.2f} CPU-s in the connector's thread; "
          f"{solved:.0f} {counted.replace('_', ' ')} on the board")
    print(f"  steady poll: {out['steady_requests']:.0f} requests, {out['steady_cpu_ms']:.1f} ms CPU, "
          f"{out['steady_beyond_http_ms']:.1f} ms of it beyond HTTP (median of 10; goal <= 20 ms)")
    return out
