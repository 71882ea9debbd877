"""The last good config: what ``chalkwall run`` starts with when the config is broken at boot.

Whenever the wall starts with, or reloads, a valid config, a copy of its text is kept in the
state directory. If the Pi then reboots after an admin saved a broken edit, the wall starts with
that copy instead of leaving the TV black (systemd restarting it over and over), says why in the
log and on screen, and follows the real file again as soon as it is fixed. The copy lives in the
default state directory (systemd's ``$STATE_DIRECTORY``): a broken config cannot be asked for its
``[state] dir``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from feeds.config.schema import LoadedConfig, find_config, parse_config, placed
from feeds.logs import LOGGER, log_event
from feeds.db import state_dir
from feeds.config.validate import ConfigError, read_toml

log = logging.getLogger(f"{LOGGER}.reload")
NAME = "last-good-config.toml"


def copy_path() -> Path:
    return state_dir() / NAME


def remember(loaded: LoadedConfig) -> None:
    """Keep ``loaded``'s text as the last good config (quietly: a full disk is reported elsewhere)."""
    if loaded.path is None:
        return
    target = copy_path()
    try:
        text = loaded.path.read_bytes()
        if target.is_file() and target.read_bytes() == text:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{NAME}.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, target)
    except OSError as exc:
        log.debug("cannot keep a copy of the good config: %s", exc)


def fall_back(cli_path: str | None, error: ConfigError) -> LoadedConfig | None:
    """The last good config, placed where the broken one is (so that its relative paths still
    resolve and the real file is the one watched); None when there is no usable copy."""
    try:
        path, label = find_config(cli_path)
    except ConfigError:
        return None  # the file named on the command line is gone: nothing to stand in for
    copy = copy_path()
    if not copy.is_file():
        return None
    try:
        config = parse_config(read_toml(copy), str(copy))
    except ConfigError:
        return None
    log_event(log, logging.ERROR, "config_rejected",
              f"the config is not valid, starting with the last good copy ({copy}) until it is fixed: "
              + "; ".join(map(str, error.problems)),
              problems=[{"file": p.file, "key": p.key, "message": p.message} for p in error.problems])
    return placed(config, label, path)
