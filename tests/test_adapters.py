"""Every adapter against real parts: an HTTP server on 127.0.0.1, real files on disk."""

from __future__ import annotations

import json
import os
import random
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
import trustme

from feeds.connectors.registry import make_adapter
from feeds.connectors.formats import csv_number
from feeds.config.schema import LoadedConfig, load_config
from feeds.model import FeedError
from feeds.connectors.transport import RetryPolicy, parse_retry_after
from helpers import FeedServer, Reply, agent, doc, write_config

DOC = doc(agent("ada", 5, team="day"), agent("bo", 7, team="day"))


def load(tmp_path: Path, text: str) -> LoadedConfig:
    return load_config(str(write_config(tmp_path, text)))


def http_adapter(tmp_path: Path, url: str, extra: str = ""):  # type: ignore[no-untyped-def]
    loaded = load(tmp_path, f'[feed]\ntype = "http"\nurl = "{url}"\ntimeout = 1\n{extra}')
    return make_adapter(loaded.config.feed, loaded.base_dir)


def poll_error(adapter) -> FeedError:  # type: ignore[no-untyped-def]
    with pytest.raises(FeedError) as info:
        adapter.poll()
    return info.value


def test_http_200_then_304_with_etag(server: FeedServer, tmp_path: Path) -> None:
    def route(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, json.dumps(DOC).encode(), {"ETag": '"v1"'})

    server.routes["/feed"] = route
    adapter = http_adapter(tmp_path, server.url + "/feed")
    snap = adapter.poll()
    assert snap is not None and [a.id for a in snap.agents] == ["ada", "bo"]
    assert adapter.poll() is None  # unchanged
    assert server.requests[1].headers["if-none-match"] == '"v1"'
    assert server.requests[0].headers["user-agent"].startswith("chalkwall/")
    assert server.requests[0].headers["accept"] == "application/json"


def test_http_last_modified_is_sent_back(server: FeedServer, tmp_path: Path) -> None:
    stamp = "Mon, 23 Nov 2026 10:00:00 GMT"
    server.routes["/feed"] = lambda h: (Reply(304) if h.get("if-modified-since") == stamp
                                        else Reply(200, json.dumps(DOC).encode(), {"Last-Modified": stamp}))
    adapter = http_adapter(tmp_path, server.url + "/feed")
    assert adapter.poll() is not None
    assert adapter.poll() is None


def test_a_bad_body_is_fetched_in_full_next_time(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/feed"] = lambda h: Reply(304) if "if-none-match" in h else Reply(200, b"{oops", {"ETag": '"x"'})
    adapter = http_adapter(tmp_path, server.url + "/feed")
    assert poll_error(adapter).kind == "bad_document"
    assert poll_error(adapter).kind == "bad_document"  # not a 304 "nothing new" for the same bad body
    assert "if-none-match" not in server.requests[1].headers


def test_http_429_and_503_carry_retry_after(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/busy"] = Reply(429, b"slow down", {"Retry-After": "120"})
    error = poll_error(http_adapter(tmp_path, server.url + "/busy"))
    assert (error.kind, error.retry_after, str(error)) == (
        "http_429", 120.0, "server busy (HTTP 429 Too Many Requests, asked to wait 120 s)")
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
    server.routes["/down"] = Reply(503, b"", {"Retry-After": later})
    error = poll_error(http_adapter(tmp_path, server.url + "/down"))
    assert error.kind == "http_503" and error.retry_after is not None and 85 <= error.retry_after <= 90


@pytest.mark.parametrize(("status", "kind", "message"), [
    (500, "http_status", "server answered HTTP 500 Internal Server Error"),
    (404, "http_status", "server answered HTTP 404 Not Found"),
    (401, "auth", "not allowed (HTTP 401 Unauthorized): check [feed.auth] and its secret"),
])
def test_http_error_statuses(server: FeedServer, tmp_path: Path, status: int, kind: str, message: str) -> None:
    server.routes["/x"] = Reply(status, b"nope")
    error = poll_error(http_adapter(tmp_path, server.url + "/x"))
    assert (error.kind, str(error)) == (kind, message)


def test_http_timeouts_before_headers_and_during_a_slow_drip(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/late"] = Reply(200, b"{}", delay=2.5)
    error = poll_error(http_adapter(tmp_path, server.url + "/late"))
    assert (error.kind, str(error)) == ("timeout", "no answer within 1 s")
    server.routes["/drip"] = Reply(200, chunks=[b" "] * 30, chunk_delay=0.1)
    error = poll_error(http_adapter(tmp_path, server.url + "/drip"))
    assert error.kind == "timeout"


def test_http_oversized_bodies_declared_or_streamed(server: FeedServer, tmp_path: Path) -> None:
    big = b" " * 5000
    server.routes["/big"] = Reply(200, big)
    server.routes["/chunked"] = Reply(200, chunks=[big[:2500], big[2500:]])
    for path in ("/big", "/chunked"):
        error = poll_error(http_adapter(tmp_path, server.url + path, "max_bytes = 4096"))
        assert error.kind == "too_big" and "4,096-byte limit" in str(error)


def test_http_malformed_and_wrong_version(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/html"] = Reply(200, b"<!doctype html><p>login</p>")
    server.json("/v2", {"version": 2, "agents": []})
    assert poll_error(http_adapter(tmp_path, server.url + "/html")).kind == "bad_document"
    assert poll_error(http_adapter(tmp_path, server.url + "/v2")).kind == "bad_version"


def test_connection_refused(tmp_path: Path) -> None:
    error = poll_error(http_adapter(tmp_path, "http://127.0.0.1:9/feed"))
    assert error.kind == "connect" and str(error).startswith("cannot connect")


def test_bearer_from_env_and_basic_from_a_credentials_file(server: FeedServer, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server.json("/feed", DOC)
    monkeypatch.setenv("FEED_TOKEN", "s3cret-token")
    http_adapter(tmp_path, server.url + "/feed", '[feed.auth]\ntype = "bearer"\ntoken_env = "FEED_TOKEN"').poll()
    assert server.requests[-1].headers["authorization"] == "Bearer s3cret-token"
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "feed-password").write_text("pa55word\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    http_adapter(tmp_path, server.url + "/feed",
                 '[feed.auth]\ntype = "basic"\nusername = "wall"\ntoken_file = "feed-password"').poll()
    assert server.requests[-1].headers["authorization"] == "Basic d2FsbDpwYTU1d29yZA=="  # wall:pa55word


def test_a_missing_secret_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(FeedError, match=r"environment variable NOPE_TOKEN \(feed.auth.token_env\) is not set"):
        http_adapter(tmp_path, "http://127.0.0.1:9/", '[feed.auth]\ntype = "bearer"\ntoken_env = "NOPE_TOKEN"')


def test_tls_is_verified_and_a_private_ca_can_be_trusted(tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = FeedServer(tls=context)
    server.thread.start()
    try:
        server.json("/feed", DOC)
        error = poll_error(http_adapter(tmp_path, server.url + "/feed"))
        assert error.kind == "connect" and "CERTIFICATE_VERIFY_FAILED" in str(error)
        ca.cert_pem.write_to_path(str(tmp_path / "office-ca.pem"))
        assert http_adapter(tmp_path, server.url + "/feed", 'ca_file = "office-ca.pem"').poll() is not None
        assert http_adapter(tmp_path, server.url + "/feed", "verify_tls = false").poll() is not None
        with pytest.raises(FeedError, match=r"cannot use ca_file .*missing.pem: No such file or directory"):
            http_adapter(tmp_path, server.url + "/feed", 'ca_file = "missing.pem"')
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def test_redirects_are_followed(server: FeedServer, tmp_path: Path) -> None:
    server.json("/new", DOC)
    server.routes["/old"] = Reply(301, b"", {"Location": "/new"})
    assert http_adapter(tmp_path, server.url + "/old").poll() is not None


def test_file_adapter_rereads_only_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(DOC))
    loaded = load(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\n')
    adapter = make_adapter(loaded.config.feed, loaded.base_dir)
    assert adapter.poll() is not None
    assert adapter.poll() is None
    path.write_text(json.dumps(doc(agent("cy", 1))))
    os.utime(path, ns=(1, 1))  # a different time even on coarse-timestamp filesystems
    snap = adapter.poll()
    assert snap is not None and [a.id for a in snap.agents] == ["cy"]
    path.write_text("{half a write")
    os.utime(path, ns=(2, 2))
    assert poll_error(adapter).kind == "bad_document"
    assert poll_error(adapter).kind == "bad_document"  # still broken: read again, not "unchanged"
    path.unlink()
    assert str(poll_error(adapter)) == f"{path} does not exist"


CSV = ("id;name;team;level;tickets_solved;csat;Quality\n"
       "a1;Åsa Ödegård;Day;pro;12;4,8;91 %\n"
       "a2;Ольга;Night;rookie;9;;87,5\n"
       "a3;Bad Row;Night;pro;lots;4;90\n"
       ";;;;;;\n")


def test_csv_file_with_swedish_spreadsheet_conventions(tmp_path: Path) -> None:
    (tmp_path / "board.csv").write_bytes(b"\xef\xbb\xbf" + CSV.encode())  # with a BOM, as Excel writes
    loaded = load(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n')
    snap = make_adapter(loaded.config.feed, loaded.base_dir).poll()
    assert snap is not None
    assert [(a.id, a.name, a.team, a.level) for a in snap.agents] == [
        ("a1", "Åsa Ödegård", "Day", "pro"), ("a2", "Ольга", "Night", "rookie"),
        ("a3", "Bad Row", "Night", "pro")]
    assert snap.agents[0].metrics == {"tickets_solved": 12, "csat": 4.8, "Quality": 91}
    assert snap.agents[1].metrics == {"tickets_solved": 9, "Quality": 87.5}
    assert [(a.id, dict(a.metrics)) for a in snap.agents[2:]] == [("a3", {"csat": 4, "Quality": 90})]
    assert snap.warnings == ('agents[2] (id "a3") metric "tickets_solved" ignored: expected a number, got text "lots"',)


def test_csv_over_http_uses_the_same_transport(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/sheet.csv"] = lambda h: (Reply(304) if h.get("if-none-match") == '"s"' else
                                             Reply(200, b"ID,Name,solved\n7,Kim,3\n", {"ETag": '"s"'}))
    loaded = load(tmp_path, f'[feed]\ntype = "csv"\nurl = "{server.url}/sheet.csv"\n')
    adapter = make_adapter(loaded.config.feed, loaded.base_dir)
    snap = adapter.poll()
    assert snap is not None and snap.agents[0].id == "7" and snap.agents[0].metrics == {"solved": 3}
    assert adapter.poll() is None
    assert server.requests[0].headers["accept"].startswith("text/csv")
    server.routes["/nohead.csv"] = Reply(200, b"name,solved\nKim,3\n")
    loaded = load(tmp_path, f'[feed]\ntype = "csv"\nurl = "{server.url}/nohead.csv"\n')
    assert str(poll_error(make_adapter(loaded.config.feed, loaded.base_dir))) == \
        "CSV has no id column (columns: name, solved)"


@pytest.mark.parametrize(("cell", "value"), [
    ("12", 12.0), (" 4,8 ", 4.8), ("1,234", 1234.0), ("1 234,5", 1234.5), ("87,5 %", 87.5), ("-3", -3.0),
    ("", None), ("  ", None), ("n/a", "n/a"), ("1\u00a0000", 1000.0),
])
def test_csv_cells(cell: str, value: object) -> None:
    assert csv_number(cell) == value


def test_mapping_turns_a_helpdesk_export_into_the_canonical_feed(server: FeedServer, tmp_path: Path) -> None:
    server.json("/report", {
        "generated": "2026-11-23T10:00:00Z",
        "data": {"groups": [{"gid": 1, "title": "Tier 1", "hex": "#123456"}],
                 "users": [{"uid": 7, "full_name": "Märta", "group": {"id": 1}, "tier": "Expert",
                            "stats": {"solved": "14", "sat": 4.5}},
                           {"uid": 8, "full_name": "Oleg", "group": {"id": 2}, "stats": {"solved": "3"}},
                           {"uid": None, "full_name": "Ghost", "stats": {}}]}})
    adapter = http_adapter(tmp_path, server.url + "/report", """
[feed.mapping]
agents = "data.users"
teams = "data.groups"
generated_at = "generated"
agent = { id = "uid", name = "full_name", team = "group.id", level = "tier" }
team = { id = "gid", name = "title", color = "hex" }
metrics = { tickets_solved = "to_number(stats.solved)", csat = "stats.sat" }
""")
    snap = adapter.poll()
    assert snap is not None
    assert [(a.id, a.name, a.team, a.level, dict(a.metrics)) for a in snap.agents] == [
        ("7", "Märta", "1", "expert", {"tickets_solved": 14, "csat": 4.5}),
        ("8", "Oleg", None, None, {"tickets_solved": 3})]
    assert [(t.id, t.name, t.color) for t in snap.teams] == [("1", "Tier 1", "#123456")]
    assert snap.generated_at == "2026-11-23T10:00:00Z"
    assert snap.warnings == ('agents[1] (id "8") team "2" ignored: not one of the feed\'s teams',
                             "agents[2] dropped: id is missing")
    server.json("/report", {"data": {"users": {"not": "a list"}}})
    assert str(poll_error(adapter)) == ("feed.mapping.agents gave dict, not a list "
                                        "(is the expression right for this document?)")


def test_retry_policy_backs_off_exponentially_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(interval=10, cap=300)
    rng = random.Random(1)
    assert policy.delay(0) == 10
    waits = [policy.delay(n, rng=rng) for n in range(1, 9)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(300, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert waits[-1] >= 150  # it grows to the cap
    assert len({round(policy.delay(3, rng=rng), 3) for _ in range(20)}) > 10  # jittered
    assert policy.delay(1, retry_after=120, rng=rng) == 120
    assert policy.delay(1, retry_after=10**9, rng=rng) == 3600  # a silly Retry-After is capped


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("30") == 30
    assert parse_retry_after("Mon, 23 Nov 2026 10:01:00 GMT", now) == 60
    assert parse_retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


WINDOWS_CSV = "id;name;team;tickets_solved;csat\r\na1;Åsa Ödegård;Dag;12;4,8\r\na2;Björn Ärlig;Natt;9;n/a\r\n"


def test_a_windows_1252_csv_from_excel_is_read_and_said_so_in_the_log(tmp_path: Path) -> None:
    import io

    from feeds.live.coordinator import FeedCoordinator
    from feeds.logs import setup_logging

    (tmp_path / "board.csv").write_bytes(WINDOWS_CSV.encode("cp1252"))
    loaded = load(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n')
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        coordinator = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed,
                                      loaded.config.board)
        assert coordinator.poll_once()
    finally:
        setup_logging("plain", "warning")
    board = coordinator.state().board
    assert board is not None
    assert sorted((r.agent.name, r.agent.team, dict(r.agent.metrics)) for r in board.agents) == [
        ("Björn Ärlig", "Natt", {"tickets_solved": 9}),
        ("Åsa Ödegård", "Dag", {"tickets_solved": 12, "csat": 4.8})]
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["message"] for r in logged if r.get("level") == "warning" or r.get("event") == "record_warning"] == [
        'CSV is not UTF-8 (byte 37); read it as Windows-1252, as Excel on Windows saves it. Set [feed.csv] '
        'encoding = "cp1252" (or "utf-8", ...) to say which it is',
        'agents[1] (id "a2") metric "csat" ignored: expected a number, got text "n/a"']


def test_the_csv_encoding_can_be_named_and_a_wrong_one_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "board.csv").write_bytes(WINDOWS_CSV.encode("cp1252"))
    loaded = load(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n[feed.csv]\nencoding = "cp1252"\n')
    snap = make_adapter(loaded.config.feed, loaded.base_dir).poll()
    assert snap is not None and snap.agents[0].name == "Åsa Ödegård"
    assert not any("UTF-8" in w for w in snap.warnings)
    (tmp_path / "board.csv").write_bytes(b"\xff\xfe" + WINDOWS_CSV.encode("utf-16-le"))  # Excel's "Unicode text"
    auto = load(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n')
    snap = make_adapter(auto.config.feed, auto.base_dir).poll()
    assert snap is not None and [a.name for a in snap.agents] == ["Åsa Ödegård", "Björn Ärlig"]
    (tmp_path / "board.csv").write_bytes(WINDOWS_CSV.encode("cp1252"))
    strict = load(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n[feed.csv]\nencoding = "utf-8"\n')
    assert str(poll_error(make_adapter(strict.config.feed, strict.base_dir))) == \
        "CSV is not utf-8 (byte 37): check [feed.csv] encoding"
    from helpers import config_problems

    assert config_problems(tmp_path, '[feed]\ntype = "csv"\npath = "board.csv"\n[feed.csv]\nencoding = "klingon"\n') \
        == ['config.toml: feed.csv.encoding: unknown encoding "klingon" (e.g. "auto", "utf-8", "cp1252", "latin-1", '
            '"utf-16")']


def test_a_mapping_expression_failing_on_one_record_spoils_only_that_value(server: FeedServer,
                                                                           tmp_path: Path) -> None:
    server.json("/report", {"users": [{"uid": 1, "full_name": "Märta", "stats": {"solved": "x", "sat": 4.5}},
                                      {"uid": 2, "full_name": "Oleg", "stats": {"solved": 3, "sat": "-"}}]})
    adapter = http_adapter(tmp_path, server.url + "/report", """
[feed.mapping]
agents = "users"
agent = { id = "uid", name = "full_name" }
metrics = { tickets_solved = "abs(stats.solved)", csat = "stats.sat" }
""")
    snap = adapter.poll()
    assert snap is not None
    assert [(a.name, dict(a.metrics)) for a in snap.agents] == [("Märta", {"csat": 4.5}),
                                                                ("Oleg", {"tickets_solved": 3})]
    assert snap.warnings[0].startswith('agents[0] (id "1") metric "tickets_solved" ignored: '
                                       "feed.mapping.metrics.tickets_solved failed on this record: In function abs()")
    assert snap.warnings[1] == 'agents[1] (id "2") metric "csat" ignored: expected a number, got text "-"'
