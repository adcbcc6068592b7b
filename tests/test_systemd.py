"""The systemd units in the package and ``elektra-web print-systemd-unit``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elektra_web import cli
from elektra_web import systemd as units

#: The real ``elektra-web`` of this virtual environment: systemd-analyze
#: verify checks that ExecStart's program exists.
ELEKTRA_WEB = Path(sys.executable).parent / "elektra-web"


def systemd_analyze() -> str:
    """systemd-analyze's path; a test without it skips, or fails under CI."""
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing (apt-get install systemd)")
        pytest.skip("systemd-analyze is not installed")
    return found


@pytest.mark.parametrize("daemon", units.UNITS)
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path, daemon: str) -> None:
    assert ELEKTRA_WEB.is_file()
    unit = tmp_path / f"{daemon}.service"
    unit.write_text(units.unit(daemon, str(ELEKTRA_WEB)))
    result = subprocess.run(
        [systemd_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 even for an unknown setting or a bad value (it ignores
    # them): any message at all is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("daemon", units.UNITS)
def test_the_unit_is_hardened_and_holds_no_secret(daemon: str) -> None:
    settings = [
        line
        for line in units.unit(daemon, "/opt/ew/bin/elektra-web").splitlines()
        if line and not line.startswith("#")
    ]
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        f"StateDirectory=elektra-web-{daemon}",
    ]:
        assert setting in settings
    [start] = [line for line in settings if line.startswith("ExecStart=")]
    [credential] = [line for line in settings if line.startswith("LoadCredential=")]
    name = credential.removeprefix("LoadCredential=").split(":")[0]
    flag = {"elektrad": "--token-file", "clusterd": "--admin-token-file"}[daemon]
    assert start == f"ExecStart=/opt/ew/bin/elektra-web {daemon} {flag} %d/{name}"
    assert not [line for line in settings if line.startswith("Environment=")]


def test_print_systemd_unit_names_this_installation_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["print-systemd-unit", "elektrad"]) == 0
    printed = capsys.readouterr().out
    assert printed == units.unit("elektrad", units.default_executable())
    assert f"ExecStart={units.default_executable()} elektrad " in printed
    assert Path(units.default_executable()).is_absolute()
    assert cli.main(["print-systemd-unit", "clusterd", "--exec", "/usr/bin/elektra-web"]) == 0
    assert "ExecStart=/usr/bin/elektra-web clusterd " in capsys.readouterr().out
