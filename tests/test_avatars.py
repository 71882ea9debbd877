"""Avatars: fetched from a real HTTP server on 127.0.0.1, checked, kept on disk, drawn on the wall."""

from __future__ import annotations

import io
import json
import logging
import struct
import time
import zlib
from pathlib import Path

import pygame
import pytest
from PIL import Image

from display.shot import build_wall, init_offscreen, render
from feeds.live.avatars import (MAX_BYTES, REVALIDATE_SECONDS, SIDE, AvatarCache, AvatarError, AvatarFetcher,
                           cache_dir, cached_file, decode, url_problem)
from feeds.config.schema import AuthConfig, FeedConfig, load_config
from feeds.live.feed import open_live_feed
from feeds.connectors.transport import BearerAuth
from helpers import FakeClock, FeedServer, Reply, write_config

init_offscreen()
MAGENTA = (255, 0, 255)


def picture(fmt: str, colour: tuple[int, int, int] = MAGENTA, size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def fetcher(tmp_path: Path, clock: FakeClock | None = None, timeout: float = 10.0) -> AvatarFetcher:
    return AvatarFetcher(FeedConfig(type="file", timeout=timeout), cache_dir(tmp_path), clock=clock or time.time)


def warnings(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", "") == event]


def test_png_and_jpeg_avatars_are_fetched_cropped_round_and_kept(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/a.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    server.routes["/b.jpg"] = Reply(200, picture("JPEG", (0, 0, 255)), {"Content-Type": "image/jpeg"})
    urls = [f"{server.url}/a.png", f"{server.url}/b.jpg"]
    assert fetcher(tmp_path).run([*urls, urls[0], None, "/local/file.png"]) == 2
    assert [s.path for s in server.requests] == ["/a.png", "/b.jpg"]  # each URL once
    for url, colour in zip(urls, (MAGENTA, (0, 0, 255))):
        with Image.open(cached_file(cache_dir(tmp_path), url)) as kept:
            assert kept.size == (SIDE, SIDE) and kept.mode == "RGBA"
            assert kept.getpixel((0, 0))[3] == 0  # outside the circle: transparent
            r, g, b, a = kept.getpixel((SIDE // 2, SIDE // 2))
            assert a == 255 and max(abs(r - colour[0]), abs(g - colour[1]), abs(b - colour[2])) < 8


@pytest.mark.parametrize("reply, why", [
    (Reply(404, b"not here"), "404"),
    (Reply(200, b"x" * (MAX_BYTES + 1), {"Content-Type": "image/png"}), "limit"),
    (Reply(200, chunks=[b"x" * 65536] * (MAX_BYTES // 65536 + 2)), "limit"),  # no Content-Length: cut off
    (Reply(200, b"<html>login</html>", {"Content-Type": "image/png"}), "not a picture"),
    (Reply(200, bomb(), {"Content-Type": "image/png"}), "over the 4096×4096 limit"),
    (Reply(200, bomb(5000, 5000), {"Content-Type": "image/png"}), "5000×5000 pixels"),
], ids=["missing", "huge", "huge-chunked", "not-an-image", "decompression-bomb", "too-many-pixels"])
def test_a_bad_answer_keeps_initials_is_logged_once_and_not_asked_for_again_at_once(
        tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture, reply: Reply, why: str) -> None:
    server.routes["/a.png"] = reply
    url = f"{server.url}/a.png"
    avatars = fetcher(tmp_path)
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        assert avatars.run([url]) == 0
        assert avatars.run([url]) == 0  # backing off: no second request yet
    assert not cached_file(cache_dir(tmp_path), url).exists()
    assert len(server.requests) == 1
    [record] = warnings(caplog, "avatar_failed")
    assert why in record.getMessage() and "initials" in record.getMessage()


def test_a_picture_too_big_to_decode_is_refused_from_its_header() -> None:
    with pytest.raises(AvatarError, match="over the 4096×4096 limit"):
        decode(bomb())
    with pytest.raises(AvatarError, match="not a picture"):
        decode(b"GIF89a broken")
    assert decode(picture("GIF")).size == (SIDE, SIDE)


def test_a_phone_photo_is_turned_upright_from_its_exif_orientation() -> None:
    photo = Image.new("RGB", (200, 200), (255, 0, 0))
    photo.paste((0, 0, 255), (100, 0, 200, 200))  # stored: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to show"
    out = io.BytesIO()
    photo.save(out, "JPEG", exif=exif)
    upright = decode(out.getvalue())
    top, bottom = upright.getpixel((SIDE // 2, SIDE // 4)), upright.getpixel((SIDE // 2, SIDE * 3 // 4))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60  # red on top, blue below


def test_a_slow_server_gives_up_at_the_timeout_and_keeps_initials(tmp_path: Path, server: FeedServer,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    body = picture("PNG")
    server.routes["/slow.png"] = Reply(200, chunks=[body[:100], body[100:]], chunk_delay=2.0)
    url = f"{server.url}/slow.png"
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        assert fetcher(tmp_path, timeout=0.5).run([url]) == 0
    assert not cached_file(cache_dir(tmp_path), url).exists()
    assert "within 0.5 s" in warnings(caplog, "avatar_failed")[0].getMessage()


def test_the_cache_survives_a_restart_and_is_confirmed_with_its_etag(tmp_path: Path, server: FeedServer) -> None:
    def reply(headers: dict[str, str]) -> Reply:
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, picture("PNG"), {"ETag": '"v1"', "Content-Type": "image/png"})

    server.routes["/a.png"] = reply
    url = f"{server.url}/a.png"
    clock = FakeClock(time.time())
    assert fetcher(tmp_path, clock=clock).run([url]) == 1
    kept = cached_file(cache_dir(tmp_path), url)
    before = kept.read_bytes()
    restarted = fetcher(tmp_path, clock=clock)  # a new process: nothing in memory
    assert restarted.run([url]) == 0 and len(server.requests) == 1  # still fresh: not asked
    clock.advance(REVALIDATE_SECONDS + 1)
    assert restarted.run([url]) == 1
    assert server.requests[-1].headers.get("if-none-match") == '"v1"'
    assert kept.read_bytes() == before
    assert restarted.run([url]) == 0 and len(server.requests) == 2  # confirmed: fresh for another day


def test_the_feeds_token_and_headers_go_only_to_the_feeds_own_server(tmp_path: Path, server: FeedServer) -> None:
    for path in ("/own.png", "/other.png"):
        server.routes[path] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    server.routes["/moved.png"] = Reply(302, b"", {"Location": f"http://localhost:{server.port}/other.png"})
    feed = FeedConfig(type="http", url=f"{server.url}/feed", headers={"X-Tenant": "night"},
                      auth=AuthConfig(type="bearer", token_env="T"))
    avatars = AvatarFetcher(feed, cache_dir(tmp_path), auth=BearerAuth("s3cret"))
    assert avatars.run([f"{server.url}/own.png", f"http://localhost:{server.port}/other.png",
                        f"{server.url}/moved.png"]) == 3
    seen = [(s.path, s.headers.get("host", "").split(":")[0], s.headers.get("authorization"),
             s.headers.get("x-tenant")) for s in server.requests]
    assert seen[0] == ("/own.png", "127.0.0.1", "Bearer s3cret", "night")
    assert seen[1] == ("/other.png", "localhost", None, None)  # another origin: anonymous
    assert seen[2][:3] == ("/moved.png", "127.0.0.1", "Bearer s3cret")
    assert seen[3][:3] == ("/other.png", "localhost", None)  # redirected away: the token stays behind


def test_plain_http_is_fetched_only_from_this_machine_or_the_feeds_own_server(tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    assert url_problem("https://cdn.example.com/a.png") is None
    assert url_problem("http://127.0.0.1:8080/a.png") is None
    assert url_problem("http://localhost/a.png") is None
    assert url_problem("http://helpdesk.lan/a.png", "http://helpdesk.lan/feed") is None
    assert "https://" in (url_problem("http://cdn.example.com/a.png", "http://helpdesk.lan/feed") or "")
    assert url_problem("http://helpdesk.lan:8080/a.png", "http://helpdesk.lan/feed") is not None  # another port
    assert url_problem("file:///etc/passwd") is not None
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        avatars = fetcher(tmp_path)
        assert avatars.run(["http://cdn.example.com/a.png?sig=SECRET"] * 2) == 0
        avatars.run(["http://cdn.example.com/a.png?sig=SECRET"])
    [record] = warnings(caplog, "avatar_refused")  # said once
    assert "cdn.example.com/a.png" in record.getMessage() and "SECRET" not in record.getMessage()


def test_a_redirect_to_an_address_not_allowed_is_not_followed(tmp_path: Path, server: FeedServer,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    server.routes["/a.png"] = Reply(302, b"", {"Location": "http://cdn.example.invalid/a.png"})
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        assert fetcher(tmp_path).run([f"{server.url}/a.png"]) == 0
    [record] = warnings(caplog, "avatar_failed")
    assert "sent on to http://cdn.example.invalid/a.png" in record.getMessage() and "https://" in record.getMessage()


def test_the_cache_keeps_at_most_its_bound_the_most_recent_first(tmp_path: Path) -> None:
    cache = AvatarCache(tmp_path, max_files=3)
    round_picture = decode(picture("PNG"))
    for i in range(5):
        cache.store(f"https://x/{i}.png", round_picture, (None, None), now=1_700_000_000 + i)
    kept = sorted(p.name for p in tmp_path.glob("*.png"))
    assert kept == sorted(cached_file(tmp_path, f"https://x/{i}.png").name for i in (2, 3, 4))
    assert len(list(tmp_path.glob("*.json"))) == 3


def magenta_rows(surface: pygame.Surface) -> list[int]:
    """The rows of the picture with magenta pixels in them."""
    mask = pygame.mask.from_threshold(surface, MAGENTA, (24, 24, 24, 255))
    rects = mask.get_bounding_rects()
    return sorted({y for r in rects for y in range(r.top, r.bottom)}) if mask.count() > 50 else []


def wall_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    feed = tmp_path / "feed.json"
    agents = [{"id": "ann", "name": "Ann Lind", "avatar": url, "metrics": {"tickets_solved": 30}},
              {"id": "bob", "name": "Bob Berg", "metrics": {"tickets_solved": 20}}]
    feed.write_text(json.dumps({"version": 1, "agents": agents}))
    return write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\n{extra}\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n')


def test_the_wall_shows_the_fetched_picture_in_the_agents_row(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/ann.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    url = f"{server.url}/ann.png"
    loaded = load_config(str(wall_config(tmp_path, url)))
    preview = build_wall(loaded, (1920, 1080), state=tmp_path / "preview")
    assert magenta_rows(render(preview, "leaderboard")) == []  # not fetched yet: initials
    live = open_live_feed(loaded)
    assert live.avatars is not None
    assert live.avatars.run([url]) == 1
    live.stop()
    preview.clock.advance(30)  # the wall looks for new pictures every few seconds
    rows = magenta_rows(render(preview, "leaderboard"))
    assert rows, "the fetched picture is not on the wall"
    assert 0.5 * 0.042 * 1080 < len(rows) < 0.12 * 1080  # one avatar's height, in one row


def test_the_live_feed_fetches_avatars_in_the_background(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/ann.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    url = f"{server.url}/ann.png"
    live = open_live_feed(load_config(str(wall_config(tmp_path, url, "interval = 2"))))
    live.start()
    try:
        deadline = time.monotonic() + 20
        while not cached_file(cache_dir(tmp_path / "state"), url).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        live.stop()
    assert cached_file(cache_dir(tmp_path / "state"), url).exists()


def test_with_avatars_off_nothing_is_fetched_or_shown(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/ann.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    url = f"{server.url}/ann.png"
    on = load_config(str(wall_config(tmp_path, url)))
    live = open_live_feed(on)
    assert live.avatars is not None and live.avatars.run([url]) == 1
    live.stop()
    off = load_config(str(wall_config(tmp_path, url, "avatars = false")))
    live = open_live_feed(off)
    assert live.avatars is None
    live.stop()
    preview = build_wall(off, (1280, 720), state=tmp_path / "preview")
    assert magenta_rows(render(preview, "leaderboard")) == []


def test_turning_avatars_off_while_the_wall_runs_goes_back_to_initials(tmp_path: Path, server: FeedServer) -> None:
    from display.app import Kiosk, build_theme
    from feeds.config.reload import Reloaded

    url = f"{server.url}/ann.png"
    on = load_config(str(wall_config(tmp_path, url)))
    kiosk = Kiosk(on, pygame.display.set_mode((640, 360)), windowed=True)
    try:
        assert kiosk.wall.stage.avatar_dir == cache_dir(tmp_path / "state")
        off = load_config(str(wall_config(tmp_path, url, "avatars = false")))
        kiosk._apply(Reloaded(off, build_theme(off), ("feed",)))
        assert kiosk.wall.stage.avatar_dir is None
    finally:
        if kiosk._swap is not None:
            kiosk._swap.join()
        kiosk.live.stop()
        pygame.display.quit()  # no screen left behind for the tests that draw offscreen
        init_offscreen()
    assert kiosk.live.avatars is None


def test_more_pictures_than_the_cache_holds_are_not_fetched_and_evicted_in_a_circle(tmp_path: Path,
                                                                                   server: FeedServer) -> None:
    for i in range(5):
        server.routes[f"/{i}.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    avatars = fetcher(tmp_path)
    avatars.cache.max_files = 3
    urls = [f"{server.url}/{i}.png" for i in range(5)]
    assert avatars.run(urls) == 3
    assert avatars.run(urls) == 0 and len(server.requests) == 3  # the cache is full: the rest keep initials
    assert len(list(cache_dir(tmp_path).glob("*.png"))) == 3


def test_a_run_over_pictures_already_kept_touches_neither_disk_nor_network(tmp_path: Path, server: FeedServer) -> None:
    server.routes["/a.png"] = Reply(200, picture("PNG"), {"Content-Type": "image/png"})
    url = f"{server.url}/a.png"
    avatars = fetcher(tmp_path)
    assert avatars.run([url]) == 1
    cached_file(cache_dir(tmp_path), url).unlink()  # were the disk looked at, this would fetch again
    assert avatars.run([url] * 3) == 0 and len(server.requests) == 1
