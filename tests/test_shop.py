"""The shop over a real SQLite state file: every step of a request is a ledger row (and a CSV row
of ``chalkwall points export --csv``), a balance never goes below zero — not with two threads nor
with two processes racing for the last points and the last item — and shop rows never count as
challenge completions, wins or streaks. The ``/shop`` page through the real app (TestClient)."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from feeds.game.ledger import Award, Ledger
from feeds.game.shop import TAX_NOTES, Refused, Shop
from feeds.web.app import Site, build_app
from feeds.web.auth import RateLimit
from feeds.web.people import People
from helpers import ROOT, write_config


def grant(directory: Path, person: str, points: float, key: str = "c1") -> None:
    ledger = Ledger(directory)
    try:
        assert ledger.award(Award(key, "agent", person, f"2026-12-01#{person}", points, "chalkwall"))
    finally:
        ledger.close()


def shop_rows(directory: Path) -> list[tuple[str, str, float, str]]:
    ledger = Ledger(directory)
    try:
        return [(str(r[4]), str(r[3]), float(r[6]), str(r[7])) for r in ledger.rows() if r[7] == "shop"]
    finally:
        ledger.close()


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    opened = Shop(tmp_path)
    yield opened
    opened.close()


def balance(directory: Path, person: str) -> float:
    ledger = Ledger(directory)
    try:
        return next((p for k, s, p, _ in ledger.balances() if (k, s) == ("agent", person)), 0.0)
    finally:
        ledger.close()


def test_request_holds_then_approve_and_fulfil_each_add_a_ledger_row(shop: Shop, tmp_path: Path) -> None:
    grant(tmp_path, "a1", 100)
    item = shop.add_item("Cinema tickets", 60, None, "taxable")
    made = shop.request("a1", item)
    assert made.status == "pending" and made.cost == 60
    assert balance(tmp_path, "a1") == 40  # held at once: Ledger.balances is the one source of truth
    assert shop.approve(made.id).status == "approved"
    assert shop.fulfil(made.id).status == "fulfilled"
    assert shop_rows(tmp_path) == [("shop:hold", "a1", -60.0, "shop"), ("shop:approve", "a1", 0.0, "shop"),
                                   ("shop:fulfil", "a1", 0.0, "shop")]
    assert balance(tmp_path, "a1") == 40
    with pytest.raises(Refused, match="fulfilled already"):
        shop.decline(made.id)  # handed over: nothing comes back
    with pytest.raises(Refused, match="fulfilled already"):
        shop.approve(made.id)
    assert len(shop_rows(tmp_path)) == 3  # a refused step writes nothing


def test_decline_gives_the_points_and_the_stock_back_with_the_reason(shop: Shop, tmp_path: Path) -> None:
    grant(tmp_path, "a1", 50)
    item = shop.add_item("Flowers", 30, 1, "tax_free")
    made = shop.request("a1", item)
    assert shop.item(item).stock == 0  # type: ignore[union-attr]
    declined = shop.decline(made.id, "The florist is closed this week")
    assert (declined.status, declined.reason) == ("declined", "The florist is closed this week")
    assert shop.item(item).stock == 1  # type: ignore[union-attr]
    assert balance(tmp_path, "a1") == 50
    assert shop_rows(tmp_path) == [("shop:hold", "a1", -30.0, "shop"), ("shop:refund", "a1", 30.0, "shop")]
    with pytest.raises(Refused, match="declined already"):
        shop.decline(made.id)  # twice would give the points back twice
    approved = shop.approve(shop.request("a1", item).id)
    shop.decline(approved.id)  # changed one's mind before handing it over: still refunded
    assert balance(tmp_path, "a1") == 50


def test_not_enough_points_is_refused_with_a_clear_message_and_writes_nothing(shop: Shop, tmp_path: Path) -> None:
    grant(tmp_path, "a1", 25)
    item = shop.add_item("Team lunch", 40, 5, "taxable")
    with pytest.raises(Refused) as refused:
        shop.request("a1", item)
    assert str(refused.value) == "Team lunch costs 40 points and you have 25: 15 more to go."
    assert shop.requests() == [] and shop_rows(tmp_path) == [] and shop.item(item).stock == 5  # type: ignore[union-attr]
    with pytest.raises(Refused, match="costs 40 points and you have 0"):
        shop.request("nobody", item)


def test_stock_runs_out_and_a_retired_item_cannot_be_asked_for(shop: Shop, tmp_path: Path) -> None:
    grant(tmp_path, "a1", 100)
    item = shop.add_item("Company hoodie", 10, 2, "tax_free")
    shop.request("a1", item)
    shop.request("a1", item)
    with pytest.raises(Refused, match="Company hoodie is sold out"):
        shop.request("a1", item)
    assert balance(tmp_path, "a1") == 80
    other = shop.add_item("Fika for the team", 5, None, "tax_free")
    assert shop.set_active(other, False)
    with pytest.raises(Refused, match="not in the shop any more"):
        shop.request("a1", other)
    assert [i.name for i in shop.items(active_only=True)] == ["Company hoodie"]


def test_a_fractional_balance_buys_what_it_adds_up_to(shop: Shop, tmp_path: Path) -> None:
    for n, points in enumerate((0.1, 0.2)):
        grant(tmp_path, "a1", points, key=f"c{n}")
    shop.request("a1", shop.add_item("A sticker", 0.3, None, "tax_free"))  # 0.1 + 0.2 < 0.3 in floats
    assert abs(balance(tmp_path, "a1")) < 1e-9


def test_shop_rows_never_count_as_completions_wins_badges_or_streaks(shop: Shop, tmp_path: Path) -> None:
    from feeds.game.challenges import badges
    from feeds.config.game import ChallengeConfig

    grant(tmp_path, "a1", 100, key="first")
    made = shop.request("a1", shop.add_item("Flowers", 10, None, "tax_free"))
    shop.approve(made.id)
    shop.fulfil(made.id)
    ledger = Ledger(tmp_path)
    try:
        assert ledger.completions() == {("agent", "a1"): 1}
        day = f"{made.requested_at[:10]}#{made.id}"
        for step in ("shop:hold", "shop:approve", "shop:fulfil"):
            assert ledger.subjects_won(step, "agent", day) == []
            assert ledger.periods_won(step, "agent", "a1", [day]) == set()
        assert ledger.latest_winners(["shop:hold", "shop:fulfil"]) == []
        # a race that happened to share a shop step's name and period would still be open to win
        assert ledger.award_first(Award("shop:hold", "agent", "a2", day, 5, "chalkwall"))
        kinds = (ChallengeConfig(id="shop:hold", title="x", kind="streak", of="first"),)  # type: ignore[call-arg]
    finally:
        ledger.close()
    ledger = Ledger(tmp_path)
    try:
        assert "a1" not in badges(ledger, kinds, "")  # the shop's rows make no badge
    finally:
        ledger.close()


def test_points_export_csv_has_every_step_with_readable_columns(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n[state]\ndir = "{state}"\n')
    grant(state, "a1", 100)
    shop = Shop(state)
    try:
        kept = shop.request("a1", shop.add_item("Cinema tickets", 60, None, "taxable"))
        shop.approve(kept.id)
        shop.fulfil(kept.id)
        back = shop.request("a1", shop.add_item("Åsa's pick: Blommor", 20, 3, "tax_free"))
        shop.decline(back.id, "no")
    finally:
        shop.close()
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "display.cli", "points", "export", "--csv", "--config", str(config)],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    shop_part = [(r["challenge"], r["challenge_title"], r["points"], r["source"]) for r in rows if r["source"] == "shop"]
    assert shop_part == [
        ("shop:hold", "Shop: Cinema tickets (request 1) — requested (points held)", "-60", "shop"),
        ("shop:approve", "Shop: Cinema tickets (request 1) — approved", "0", "shop"),
        ("shop:fulfil", "Shop: Cinema tickets (request 1) — fulfilled", "0", "shop"),
        ("shop:hold", "Shop: Åsa's pick: Blommor (request 2) — requested (points held)", "-20", "shop"),
        ("shop:refund", "Shop: Åsa's pick: Blommor (request 2) — declined (points back)", "20", "shop"),
    ]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["period"]) for r in rows if r["source"] == "shop")
    shown = subprocess.run([sys.executable, "-m", "display.cli", "points", "--config", str(config)],
                           capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert re.search(r"^a1\s+agent\s+40\s", shown.stdout, re.M), shown.stdout  # 100 - 60, the refund back


def test_threads_with_their_own_connections_never_overspend(tmp_path: Path) -> None:
    grant(tmp_path, "a1", 50)
    setup = Shop(tmp_path)
    item = setup.add_item("Coffee voucher", 10, None, "taxable")
    setup.close()
    wins: list[int] = []
    refusals: list[str] = []
    start = threading.Barrier(6)

    def spend() -> None:
        mine = Shop(tmp_path)
        try:
            start.wait()
            for _ in range(4):
                try:
                    wins.append(mine.request("a1", item).id)
                except Refused as refused:
                    refusals.append(str(refused))
        finally:
            mine.close()

    threads = [threading.Thread(target=spend) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 5 and len(refusals) == 19
    assert balance(tmp_path, "a1") == 0


RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from feeds.game.shop import Refused, Shop

    state, go, person, item, tries = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    shop = Shop(state)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    won = 0
    for _ in range(tries):
        try:
            shop.request(person, item)
            won += 1
        except Refused:
            pass
    shop.close()
    print(won, flush=True)
""")


def race(tmp_path: Path, person: str, item: int, tries: int) -> list[int]:
    """Two processes asking for ``item`` for ``person`` ``tries`` times each, released at once."""
    script = tmp_path / "racer.py"
    script.write_text(RACER, encoding="utf-8")
    go = tmp_path / f"go-{person}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    racers = [subprocess.Popen([sys.executable, str(script), str(tmp_path), str(go), person, str(item), str(tries)],
                               stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
    go.touch()
    won = []
    for racer in racers:
        out, _ = racer.communicate(timeout=120)
        assert racer.returncode == 0
        won.append(int(out.strip()))
    return won


def test_two_processes_racing_for_the_last_points_and_the_last_item_never_go_below_zero(tmp_path: Path) -> None:
    grant(tmp_path, "a1", 100)  # the last points: exactly ten 10-point requests fit
    grant(tmp_path, "a2", 1000)
    shop = Shop(tmp_path)
    cheap = shop.add_item("Coffee voucher", 10, None, "taxable")
    last = shop.add_item("Signed football", 1, 3, "taxable")  # the last three in stock
    shop.close()
    started = time.monotonic()
    points_won = race(tmp_path, "a1", cheap, 30)
    stock_won = race(tmp_path, "a2", last, 30)
    assert time.monotonic() - started < 120
    assert sum(points_won) == 10 and balance(tmp_path, "a1") == 0
    assert sum(stock_won) == 3 and balance(tmp_path, "a2") == 997
    shop = Shop(tmp_path)
    try:
        assert shop.item(last).stock == 0  # type: ignore[union-attr]
        assert len(shop.requests(person="a1")) == 10 and len(shop.requests(person="a2")) == 3
    finally:
        shop.close()
    holds = [row for row in shop_rows(tmp_path) if row[0] == "shop:hold"]
    assert len(holds) == 13  # one hold row per request, no more, no fewer


# --- the /shop page ------------------------------------------------------------------------

def site_for(tmp_path: Path) -> tuple[Site, People, Shop]:
    people, shop = People(tmp_path), Shop(tmp_path)
    return Site(people, tmp_path / "pw", "http://testserver", RateLimit(), shop=shop), people, shop


def csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_the_shop_page_asks_for_an_item_and_says_clearly_when_points_are_short(tmp_path: Path) -> None:
    site, people, shop = site_for(tmp_path)
    try:
        grant(tmp_path, "a7", 45)
        flowers = shop.add_item("Blommor till skrivbordet", 30, 1, "tax_free")
        trip = shop.add_item("Spa day", 400, None, "taxable", "A prize: taxable. Payroll adds it to your salary slip.")
        client = TestClient(build_app(site), base_url="http://testserver")
        assert client.get(f"/in/{people.invite('a7', 'Åsa Ödegård')}", follow_redirects=False).status_code == 303
        page = client.get("/shop").text
        assert "You have <span class=\"price\">45 points</span>" in page
        assert TAX_NOTES["tax_free"] in page and "Payroll adds it to your salary slip." in page
        token = csrf(client, "/shop")
        short = client.post("/shop/request", data={"csrf": token, "item": str(trip)}, follow_redirects=False)
        assert short.status_code == 409 and "Spa day costs 400 points and you have 45: 355 more to go." in short.text
        done = client.post("/shop/request", data={"csrf": token, "item": str(flowers)}, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, "/shop?asked=1")
        after = client.get("/shop?asked=1").text
        assert "15 points" in after and "waiting for an admin (points held)" in after and "Sold out" in after
        assert client.post("/shop/request", data={"item": str(flowers)}).status_code == 403  # no CSRF token
        assert client.post("/shop/request", data={"csrf": "forged", "item": str(flowers)}).status_code == 403
        assert len(shop.requests()) == 1
    finally:
        shop.close()
        people.close()


def test_a_watcher_may_look_but_not_spend(tmp_path: Path) -> None:
    site, people, shop = site_for(tmp_path)
    try:
        grant(tmp_path, "w1", 100)
        item = shop.add_item("Flowers", 10, None, "tax_free")
        client = TestClient(build_app(site), base_url="http://testserver")
        client.get(f"/in/{people.invite('w1', 'Wera', 'watcher')}")
        assert "Only agents and role models spend points here" in client.get("/shop").text
        refused = client.post("/shop/request", data={"csrf": csrf(client, "/shop"), "item": str(item)})
        assert refused.status_code == 403 and shop.requests() == []
    finally:
        shop.close()
        people.close()
