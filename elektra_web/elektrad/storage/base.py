"""The contract every mounted-file format implements.

A mounted configuration file is parsed into a :class:`Document`: a tree whose
nodes are addressed by *relative key parts* (a tuple of unescaped key-name
parts below the mount point, ``()`` being the mount point itself).

Every node of the tree is a key:

* containers (INI sections, JSON objects and arrays, TOML tables and arrays,
  and the document root) are keys without a value (``None``);
* leaves are keys with a string value (numbers and booleans are rendered as
  text: ``"8080"``, ``"true"``; a JSON ``null`` is a leaf with value ``None``).

Array elements are addressed by Elektra's canonical array parts: ``#0`` ...
``#9``, ``#_10`` ... ``#_99``, ``#__100`` (see :func:`array_part`).

A document is edited in place and written back with :meth:`Document.dump`,
which must reproduce the original text byte for byte when nothing changed, and
keep comments, order and formatting of everything that did not change.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping

from ..exceptions import FormatError, UnsupportedKey

__all__ = [
    "Document",
    "FileFormat",
    "FormatError",
    "Parts",
    "UnsupportedKey",
    "array_index",
    "array_part",
    "describe",
]

Parts = tuple[str, ...]

_ARRAY = re.compile(r"#(_*)(0|[1-9][0-9]*)")


def array_part(index: int) -> str:
    """Elektra's canonical array part for ``index``: ``#0``, ``#_10``, ``#__100``."""
    digits = str(index)
    return "#" + "_" * (len(digits) - 1) + digits


def array_index(part: str) -> int | None:
    """The index of a canonical array part, or ``None`` if ``part`` is not one.

    An index of 19 digits or more is past the end of any array in a file: it is
    ``sys.maxsize`` (``int()`` would refuse more than 4300 digits).
    """
    match = _ARRAY.fullmatch(part)
    if match is None or len(match.group(1)) != len(match.group(2)) - 1:
        return None
    digits = match.group(2)
    return int(digits) if len(digits) < 19 else sys.maxsize


def describe(parts: Parts) -> str:
    """``parts`` as a relative key name for error messages (``/`` and ``\\`` escaped)."""
    if not parts:
        return "the mount point"
    return "/".join(part.replace("\\", "\\\\").replace("/", "\\/") for part in parts)


class Document(ABC):
    """A parsed configuration file, editable in place."""

    @abstractmethod
    def keys(self) -> Mapping[Parts, str | None]:
        """Every key of the document, containers included, root ``()`` first.

        Ordered as the keys appear in the file.
        """

    @abstractmethod
    def set(self, parts: Parts, value: str | None) -> None:
        """Set the key at ``parts``, creating missing parent containers.

        ``value=None`` asks for a container at ``parts`` (created if missing,
        left alone if it already is one). A new leaf is written as a string; an
        existing leaf keeps its type (number, boolean) when the new text is
        valid for it. Raises :class:`UnsupportedKey` when the format cannot
        hold the key (a value on a container, a child under a leaf, an INI key
        without a section, an array index past the end, ...).
        """

    @abstractmethod
    def delete(self, parts: Parts) -> None:
        """Remove the key at ``parts`` and everything below it.

        Missing keys are ignored. Removing an array element shifts the later
        elements down. Removing the root ``()`` empties the document.
        """

    @abstractmethod
    def dump(self) -> str:
        """The document as text, ready to be written back to its file."""


class FileFormat(ABC):
    """A file format: a name, the file suffixes it claims, and a parser."""

    name: str
    suffixes: tuple[str, ...]
    #: The most key parts a key of this format has below the mount point
    #: (INI: 2, section and option); ``None``: any (JSON and TOML nest). A
    #: client offers no child below this depth, nor below a key with a value
    #: (a leaf: no format here holds children under a value).
    max_depth: int | None = None

    @abstractmethod
    def parse(self, text: str) -> Document:
        """Parse ``text``; raise :class:`FormatError` (with a line number where
        the parser gives one) when it is not valid for this format. An empty
        text is a valid, empty document."""
