"""A wall's poll loop for the Zendesk connector in a process of its own, on a clock that runs
``speed`` times faster than the real one (the same clock the test's fake Zendesk runs on), so that
a backfill spanning several polls takes seconds. Exits 0 once a poll finds it caught up; the
kill -9 test kills it before that.

    python tests/zendesk_loop.py BASE_URL STATE_DIR SECRET_DIR TZ BASE T0 SPEED
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    base_url, state, secrets, tz = argv[:4]
    base, t0, speed = (float(v) for v in argv[4:7])
    from feeds.config.schema import AuthConfig, FeedConfig
    from feeds.connectors.base import Context
    from feeds.connectors.zendesk import ZendeskConnector, ZendeskOptions

    def clock() -> float:
        return base + (time.time() - t0) * speed

    def sleep(seconds: float) -> None:
        time.sleep(seconds / speed)

    feed = FeedConfig(type="zendesk", interval=60.0, auth=AuthConfig(email=argv[7], token_file="zd.token"),
                      options=ZendeskOptions(base_url=base_url))
    connector = ZendeskConnector(feed, Context(Path(secrets), clock, tz, Path(state)), sleep=sleep)
    while True:
        connector.poll()
        if not connector.catching_up:
            connector.close()
            return 0
        sleep(60.0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
