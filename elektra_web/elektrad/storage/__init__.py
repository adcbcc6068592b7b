"""Mounted configuration files: parsing them into keys and writing them back in place."""

from __future__ import annotations

from pathlib import Path

from .base import Document, FileFormat, FormatError, Parts, UnsupportedKey
from .ini import IniFormat
from .json import JsonFormat
from .toml import TomlFormat

__all__ = [
    "FORMATS",
    "Document",
    "FileFormat",
    "FormatError",
    "IniFormat",
    "JsonFormat",
    "Parts",
    "TomlFormat",
    "UnsupportedKey",
    "format_for",
]

FORMATS: tuple[FileFormat, ...] = (IniFormat(), JsonFormat(), TomlFormat())


def format_for(path: Path, name: str | None = None) -> FileFormat:
    """The format called ``name``, or else the one claiming the suffix of ``path``."""
    if name is not None:
        for candidate in FORMATS:
            if candidate.name == name:
                return candidate
        names = ", ".join(candidate.name for candidate in FORMATS)
        raise ValueError(f"unknown file format {name!r}; supported formats: {names}")
    suffix = path.suffix.lower()
    for candidate in FORMATS:
        if suffix in candidate.suffixes:
            return candidate
    suffixes = ", ".join(s for candidate in FORMATS for s in candidate.suffixes)
    raise ValueError(
        f"cannot tell the format of {path.name!r} from its suffix; supported suffixes:"
        f" {suffixes} (or name the format)"
    )
