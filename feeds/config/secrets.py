"""Feed secrets (tokens, passwords): read from an environment variable or a file, never config.toml.

A relative ``token_file`` is looked up in ``$CREDENTIALS_DIRECTORY`` when systemd provides one
(``LoadCredential=``), else beside the config file. Every secret read is registered with the log
formatters, which replace it with ``***`` wherever it would appear.
"""

from __future__ import annotations

import os
from pathlib import Path

from feeds.config.schema import AuthConfig
from feeds.logs import register_secret
from feeds.model import FeedError


def read_secret(auth: AuthConfig, base_dir: Path) -> str:
    """The secret named by ``auth``; FeedError (never showing the value) when it cannot be had."""
    if auth.token_env:
        value = os.environ.get(auth.token_env, "")
        if not value:
            raise FeedError(f"environment variable {auth.token_env} (feed.auth.token_env) is not set",
                            "secret")
    else:
        path = Path(auth.token_file).expanduser()
        if not path.is_absolute():
            creds = os.environ.get("CREDENTIALS_DIRECTORY")
            path = Path(creds) / path if creds else base_dir / path
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FeedError(f"cannot read secret file {path} (feed.auth.token_file): "
                            f"{exc.strerror or exc}", "secret") from None
        if not value:
            raise FeedError(f"secret file {path} (feed.auth.token_file) is empty", "secret")
    register_secret(value)
    return value
