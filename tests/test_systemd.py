"""The systemd units pass systemd-analyze verify, and the kiosk unit stays tightly confined."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT


@pytest.fixture
def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing on CI: ./bootstrap test installs systemd")
        pytest.skip("systemd-analyze is not installed")
    return tool


def unit_copy(tmp_path: Path, name: str, executable: Path) -> Path:
    """The unit with its ExecStart pointing at a real executable (verify checks that it exists)."""
    text = (ROOT / "systemd" / name).read_text()
    text = re.sub(r"ExecStart=\S+", f"ExecStart={executable}", text)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_units_verify(analyze: str, tmp_path: Path) -> None:
    executable = tmp_path / "chalkwall"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    for name in ("chalkwall.service", "chalkwall-desktop.service"):
        result = subprocess.run([analyze, "verify", str(unit_copy(tmp_path, name, executable))],
                                capture_output=True, text=True, timeout=60)
        problems = [line for line in result.stderr.splitlines() if name in line or "chalkwall" in line]
        assert result.returncode == 0 and problems == [], result.stderr


def test_the_kiosk_unit_is_confined(analyze: str, tmp_path: Path) -> None:
    executable = tmp_path / "chalkwall"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    result = subprocess.run([analyze, "security", "--offline=true", str(unit_copy(tmp_path, "chalkwall.service",
                                                                                  executable))],
                            capture_output=True, text=True, timeout=60)
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    assert score <= 2.0, result.stdout  # measured 1.7 ("OK"); systemd calls up to 3.9 "OK"
    unit = (ROOT / "systemd" / "chalkwall.service").read_text()
    for must in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "StateDirectory=chalkwall", "LoadCredential=", "DevicePolicy=closed",
                 "DeviceAllow=char-drm rw"):
        assert must in unit
