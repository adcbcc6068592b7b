"""Hardened systemd units for elektrad and clusterd, shipped as package data
(``elektrad.service``, ``clusterd.service``); ``elektra-web
print-systemd-unit`` prints one with the path of this installation's
``elektra-web`` in ``ExecStart``."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["DIRECTORY", "UNITS", "default_executable", "unit"]

DIRECTORY = Path(__file__).parent
#: The daemons with a unit.
UNITS = ("elektrad", "clusterd")
#: The executable the shipped files name, replaced by :func:`unit`.
SHIPPED_EXECUTABLE = "/usr/local/bin/elektra-web"


def unit(name: str, executable: str | None = None) -> str:
    """The unit file of ``name`` (one of :data:`UNITS`) running ``executable``
    (default: :func:`default_executable`)."""
    if name not in UNITS:
        raise ValueError(f"no unit for {name!r}: one of {', '.join(UNITS)}")
    text = (DIRECTORY / f"{name}.service").read_text()
    return text.replace(
        f"ExecStart={SHIPPED_EXECUTABLE} ", f"ExecStart={executable or default_executable()} "
    )


def default_executable() -> str:
    """This installation's ``elektra-web``: the script that runs now, or the
    one next to this Python (a virtual environment's ``bin``), else the path
    the shipped units name. Absolute, not resolved: a virtual environment's
    ``bin/python`` is a link to the system's Python."""
    running = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if running is not None and running.name == "elektra-web" and running.is_file():
        return str(running.absolute())
    beside = Path(sys.executable).parent / "elektra-web"
    if beside.is_file():
        return str(beside.absolute())
    return SHIPPED_EXECUTABLE
