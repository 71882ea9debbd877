"""The transport's own size cap: a body over ``max_bytes`` is cut off while it streams, not read
whole into memory and refused afterwards by the decoder.

A real server on 127.0.0.1 sends a 64 MiB body (declared, until the connection closes, or
chunked) and counts what the client's kernel accepted before the client hung up; had the client
read it all, the server would have sent it all. Its send buffer is kept small so that what it
counts is close to what the client really took.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from feeds.connectors.registry import make_adapter
from feeds.config.schema import load_config
from feeds.model import FeedError
from helpers import write_config

MiB = 1 << 20
TOTAL = 64 * MiB
CAP = 1 * MiB
BLOCK = b" " * (64 * 1024)


class StreamingServer:
    """One connection: the headers for ``framing``, then blank bytes until TOTAL or the client goes."""

    def __init__(self, framing: str) -> None:
        self.framing = framing
        self.sent = 0  # body bytes the client's side accepted
        self.finished = False  # the whole body went out
        self.done = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/big"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            head += {"declared": f"Content-Length: {TOTAL}\r\n", "chunked": "Transfer-Encoding: chunked\r\n",
                     "close": "Connection: close\r\n"}[self.framing]
            conn.sendall(head.encode() + b"\r\n")
            frame = b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK) if self.framing == "chunked" else BLOCK
            while self.sent < TOTAL:
                conn.sendall(frame)
                self.sent += len(BLOCK)
            if self.framing == "chunked":
                conn.sendall(b"0\r\n\r\n")
            self.finished = True
        except OSError:  # the client hung up: what it took is counted
            pass
        finally:
            conn.close()
            self._listener.close()
            self.done.set()


@pytest.mark.parametrize("framing", ["declared", "close", "chunked"])
def test_a_body_over_max_bytes_is_cut_off_by_the_transport_not_read_whole(framing: str, tmp_path: Path) -> None:
    server = StreamingServer(framing)
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}"\n'
                                                    f"max_bytes = {CAP}\ntimeout = 30\n")))
    adapter = make_adapter(loaded.config.feed, loaded.base_dir)  # the whole path: transport, then decoder
    try:
        with pytest.raises(FeedError) as info:
            adapter.poll()
    finally:
        adapter.close()
    assert server.done.wait(30), "the client neither read the body nor hung up"
    assert not server.finished and server.sent < TOTAL // 8, \
        f"{server.sent:,} of {TOTAL:,} bytes were sent: the body was read before it was refused"
    assert info.value.kind == "too_big"
    if framing == "declared":  # refused on the header alone, before any of the body is read
        assert str(info.value) == f"document is {TOTAL:,} bytes, over the {CAP:,}-byte limit"
    else:
        assert str(info.value) == f"document is over the {CAP:,}-byte limit"
