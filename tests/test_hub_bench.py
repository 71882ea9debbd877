"""The counting behind ``chalkwall bench --hub`` (not timed): percentiles, latencies joined on the
hub's board, lost and repeated celebrations per screen; and the bench's floor and hub config."""

from __future__ import annotations

import json
from pathlib import Path

from feeds.config.schema import load_config
from feeds.hub_bench import Floor, celebrations, hub_config, latencies, percentile, summary


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0  # round(0.5 * 99) = 50 -> the 51st
    assert percentile(values, 0.95) == 95.0
    assert percentile(values, 1.0) == 100.0 and percentile(values, 0.0) == 1.0
    assert percentile([3.0], 0.95) == 3.0 and percentile([], 0.5) == 0.0
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0  # order does not matter


def test_latency_is_from_the_hubs_board_to_each_screens() -> None:
    published = {(1, 100.0): 10.0, (2, 101.0): 11.0, (3, 102.0): 12.0}
    received = [(1, 100.0, 10.02), (1, 100.0, 10.05), (2, 101.0, 11.5),
                (9, 99.0, 13.0)]  # a retained board from before the run: not the hub's of this run
    assert [round(v, 3) for v in latencies(published, received)] == [0.02, 0.05, 0.5]
    assert [round(v, 3) for v in latencies(published, received, skip=lambda t: 10.5 < t < 11.5)] == [0.02, 0.05]


def test_lost_and_duplicated_are_counted_per_screen_of_the_team() -> None:
    expected = {"team/a": {1, 2, 3}, "team/b": {1}}
    streams = {"w1": "team/a", "w2": "team/a", "w3": "team/b", "w4": "team/b"}
    shown = {"w1": [("team/a", 1), ("team/a", 2), ("team/a", 3)],
             "w2": [("team/a", 1), ("team/a", 3), ("team/a", 3), ("team/b", 1)],  # 2 lost, 3 twice
             "w3": [("team/b", 1)]}  # w4 showed nothing: 1 lost
    assert celebrations(expected, shown, streams) == (2, 1)
    assert celebrations(expected, {k: v for k, v in shown.items() if k in ("w1", "w3")},
                        {"w1": "team/a", "w3": "team/b"}) == (0, 0)


def test_summary_names_the_percentiles() -> None:
    assert summary([]) == "no samples"
    assert summary([0.010, 0.020, 0.030]).startswith("p50   20.0 ms  p95   30.0 ms  max   30.0 ms")


def test_the_floor_changes_every_call_and_carries_the_kudos(tmp_path: Path) -> None:
    floor = Floor(agents=50, teams=10)
    first = json.loads(floor.next())
    floor.kudos()
    second = json.loads(floor.next())
    assert first["agents"] != second["agents"] and len(second["agents"]) == 50
    assert second["agents"][1]["name"] == "Пётр Иванов 1" and second["agents"][0]["name"] == "Åsa Ödegård 0"
    assert [e["id"] for e in second["events"]] == ["bench-k1"] and second["events"][0]["from"] != second["events"][0]["to"]
    config = load_config(str(hub_config(tmp_path, tmp_path / "floor.json", 1883))).config
    assert config.hub is not None and config.hub.site == "bench" and config.feed.type == "file"
    assert {c.id for c in config.challenges} >= {"first-to-40", "own-best", "on-a-roll"}  # the default config's
