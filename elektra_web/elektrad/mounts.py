"""A real configuration file mounted at a key prefix.

The mount keeps the parsed :class:`~.storage.base.Document` and the exact
bytes it was parsed from. It notices edits made by other programs (a cheap
``stat`` per request, plus a content comparison while the file's timestamp is
too recent to be trusted, as git does for "racily clean" files), and refuses
to write over an edit it has not read: the write is redone on fresh content.

A file that does not parse makes the mount *broken*: its keys cannot be read
or written, and the file is never rewritten, until it parses again. Reads of
a tree that holds a broken mount answer the rest and name the broken mount
(see ``KeyDatabase.read``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..keynames import KeyName
from .atomicfile import atomic_replace
from .exceptions import FormatError, MountError, StaleFile
from .storage import format_for
from .storage.base import Document, FileFormat

__all__ = ["Mount", "MountSpec"]

# Coarse kernel timestamps tick every few milliseconds; a file modified this
# recently may change again without its stat changing.
_RACY_SECONDS = 2.0


@dataclass(frozen=True)
class MountSpec:
    """``PREFIX=FILE`` from the command line, parsed."""

    prefix: KeyName
    path: Path
    format: FileFormat

    @classmethod
    def parse(cls, text: str) -> MountSpec:
        """Parse ``user:/app=/etc/app.ini`` (format by suffix) or
        ``user:/app=ini:/etc/app.conf`` (format named)."""
        prefix_text, sep, file_text = text.partition("=")
        if not sep or not prefix_text or not file_text:
            raise ValueError(f"invalid mount {text!r}: expected PREFIX=FILE")
        prefix = KeyName.parse(prefix_text)
        if prefix.is_cascading:
            raise ValueError(f"invalid mount {text!r}: the prefix needs a namespace")
        fmt_name: str | None = None
        head, colon, tail = file_text.partition(":")
        if colon and head.isalpha() and not head.startswith("/"):
            fmt_name, file_text = head, tail
        path = Path(file_text).expanduser().absolute()
        return cls(prefix, path, format_for(path, fmt_name))

    def __str__(self) -> str:
        """``PREFIX=FORMAT:FILE``, which :meth:`parse` reads back."""
        return f"{self.prefix}={self.format.name}:{self.path}"


class Mount:
    """A mounted file and its current parsed content."""

    def __init__(self, spec: MountSpec) -> None:
        self.prefix = spec.prefix
        self.path = spec.path
        self.format = spec.format
        self.document: Document | None = None
        self.error: str | None = None
        self._content: bytes | None = None  # None: the file does not exist
        self._stamp: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        return f"<Mount {self.prefix} {self.format.name}:{self.path}>"

    @property
    def broken(self) -> bool:
        return self.error is not None

    def describe(self) -> dict[str, str | int | None]:
        """The mount as ``GET /mounts`` and the ``mount`` of a key view show it:
        its mount point, file, format, whether the file parses (``status``
        "ok" or "broken", and the parser's message in ``error``), and
        ``maxDepth``, the most key parts its keys have below the mount point
        (``None``: any)."""
        return {
            "prefix": str(self.prefix),
            "file": str(self.path),
            "format": self.format.name,
            "status": "broken" if self.broken else "ok",
            "error": self.error,
            "maxDepth": self.format.max_depth,
        }

    def ensure_usable(self) -> Document:
        if self.document is None:
            raise MountError(
                f"the file mounted at {self.prefix} ({self.path}) is broken: {self.error}"
            )
        return self.document

    def keys(self) -> dict[KeyName, str | None]:
        """Every key of the file, as absolute names; empty while broken."""
        if self.document is None:
            return {}
        return {self.prefix.child(*parts): v for parts, v in self.document.keys().items()}

    # -- reading (blocking: call from a worker thread) --------------------

    def changed_on_disk(self) -> bool:
        """True if the file differs from what was last read or written."""
        stamp = _stamp(self.path)
        if stamp != self._stamp:
            return True
        if stamp is None or time.time() - stamp[2] / 1e9 > _RACY_SECONDS:
            return False
        return _read(self.path) != self._content

    def load(self) -> None:
        """(Re)read and parse the file; a parse error marks the mount broken."""
        try:
            stamp = _stamp(self.path)
            content = _read(self.path)
        except OSError as exc:
            self.document, self.error = None, f"cannot read the file: {exc.strerror}"
            self._stamp = self._content = None
            return
        self._stamp, self._content = stamp, content
        try:
            text = "" if content is None else content.decode("utf-8")
            self.document = self.format.parse(text)
            self.error = None
        except UnicodeDecodeError as exc:
            self.document, self.error = None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        except FormatError as exc:
            self.document, self.error = None, f"not valid {self.format.name.upper()}: {exc}"

    def remove_leftovers(self) -> None:
        """Remove temporary files that a crash in the middle of a write left."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            leftover.unlink(missing_ok=True)

    # -- writing (blocking) -----------------------------------------------

    def write(self, text: str) -> None:
        """Write ``text`` in place of the file, unless someone else changed it
        since it was read: then raise :class:`StaleFile` and leave it alone."""
        data = text.encode("utf-8")

        def unchanged_since_read() -> None:
            if _read(self.path) != self._content:
                raise StaleFile(str(self.path))

        try:
            atomic_replace(self.path, data, check=unchanged_since_read)
        except OSError as exc:
            raise MountError(f"cannot write {self.path}: {exc.strerror}") from exc
        self._content, self._stamp = data, _stamp(self.path)


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
