"""``chalkwall bench --web``'s arithmetic and parsers (percentiles, /proc and status-file reading,
the report) and its scripted clients against a real team page for a few seconds. (The bench
itself is run by hand: it is a measurement, not a test.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

from feeds.web_bench import PAGES, Result, cpu_seconds, frame_p95, memory_mib, percentile, report, waited_seconds


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 100) == 100.0
    assert percentile(list(reversed(values)), 95) == 95.0  # order does not matter
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 95) == 0.0
    assert percentile([1.0, 2.0, 3.0, 1000.0], 95) == 1000.0  # one slow page in four is the p95


def test_cpu_seconds_reads_proc_stat_even_with_spaces_and_parens_in_the_name() -> None:
    tick = os.sysconf("SC_CLK_TCK")
    fields = ["S"] + ["0"] * 10 + [str(3 * tick), str(tick)] + ["0"] * 30
    assert cpu_seconds(f"1234 (python3 -m (x) y) {' '.join(fields)}") == 4.0
    here = Path(f"/proc/{os.getpid()}/stat").read_text()
    assert cpu_seconds(here) > 0


def test_memory_mib_reads_vmrss_and_the_peak() -> None:
    text = "Name:\tpython3\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert memory_mib(text) == 100.0
    assert memory_mib(text, "VmHWM") == 200.0
    assert memory_mib("Name:\tkthread\n") == 0.0
    assert memory_mib(Path(f"/proc/{os.getpid()}/status").read_text()) > 1


def test_waited_seconds_sums_the_threads_of_a_process() -> None:
    here = Path(f"/proc/{os.getpid()}")
    assert waited_seconds(here) >= 0.0
    assert waited_seconds(Path("/nonexistent")) == 0.0


def test_frame_p95_only_while_the_screen_draws() -> None:
    assert frame_p95(json.dumps({"screen": "on", "frame_p95_ms": 12.5})) == 12.5
    assert frame_p95(json.dumps({"screen": "off", "frame_p95_ms": 0.0})) is None
    assert frame_p95(json.dumps({"screen": "on"})) is None
    assert frame_p95("") is None  # not written yet
    assert frame_p95('{"screen": "on", "frame_p9') is None  # never half a file, but if so: no figure
    assert frame_p95("[]") is None


def test_the_report_names_every_figure() -> None:
    result = Result(200, 60.0, ["/"], times=[0.010] * 90 + [0.200] * 10, frame_before=[8.0, 9.0],
                    frame_during=[12.0, 20.0], web_cpu_share=0.85, web_rss_mib=61.4, web_peak_rss_mib=63.0,
                    client_cpu_share=0.5)
    result.error("/ 500")
    result.error("ReadTimeout")
    text = report(result)
    assert "200 people" in text and "for 60 s" in text
    assert "requests 102" in text and "errors 2 (/ 500 ×1, ReadTimeout ×1)" in text
    assert "p50 10 ms" in text and "p95 200 ms" in text and "max 200 ms" in text
    assert "before 8.0 ms (max 9.0), during 12.0 ms (max 20.0)" in text
    assert "CPU 85% of a core (and waiting for one 0% of the time), RSS 61 MiB (peak 63)" in text
    assert "no status" in report(Result(1, 1.0, ["/"]))


def test_the_page_list_starts_with_home() -> None:
    assert PAGES[0] == "/" and len(set(PAGES)) == len(PAGES)


def test_the_report_counts_the_forms_sent_and_their_answers() -> None:
    result = Result(2, 1.0, ["/"], times=[0.01], post_times=[0.02, 0.03], sent={"thanks 303": 2, "shop 409": 1})
    assert "forms sent: shop 409 ×1, thanks 303 ×2 (p95 30 ms)" in report(result)
    assert "forms sent: none" in report(Result(1, 1.0, ["/"]))


def test_the_scripted_clients_thank_and_shop_through_a_real_team_page(tmp_path: Path) -> None:
    """Three clients for a few seconds against a real ``chalkwall web``: every form they send is
    answered as a person's would be (thanks within the day's limit, shop requests within points)."""
    import asyncio

    from browser import start_web
    from feeds.game.shop import Shop
    from feeds.web_bench import ITEM_COST, SHOP_EACH, STARTING_POINTS, THANKS_EACH, _ids, _load, _stock

    web = start_web(tmp_path)
    try:
        ids = _ids(3)
        links = [web.invite(person) for person in ids]
        _stock(web.state, ids)
        result = Result(3, 4.0, list(PAGES))
        asyncio.run(_load(web.url, links, list(PAGES), 4.0, result, lambda: None, ids))
        assert result.errors == {}
        thanked, asked = result.sent.get("thanks 303", 0), result.sent.get("shop 303", 0)
        assert set(result.sent) == {"thanks 303", "shop 303"}, result.sent  # nothing refused: within limits
        assert 1 <= thanked <= 3 * THANKS_EACH and 1 <= asked <= 3 * SHOP_EACH
        shop = Shop(web.state)
        try:
            assert len(shop.requests(statuses=("pending",))) == asked
            kudos = 5.0  # the default [points] kudos
            assert sum(shop.balance(person) for person in ids) == 3 * STARTING_POINTS - ITEM_COST * asked + kudos * thanked
        finally:
            shop.close()
    finally:
        web.stop()
