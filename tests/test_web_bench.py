"""``chalkwall bench --web``'s arithmetic and parsers: percentiles, /proc and status-file reading,
the report. (The bench itself is run by hand: it is a measurement, not a test.)"""

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
