"""Configuration formats shared by elektrad and clusterd: the export format of
a subtree with metadata (``exchange``) and the error of malformed text
(``errors``). Nothing here imports the daemons: they import it."""

from __future__ import annotations

from .errors import FormatError
from .exchange import ConfigFormat, Entries, Entry, decode, encode

__all__ = ["ConfigFormat", "Entries", "Entry", "FormatError", "decode", "encode"]
