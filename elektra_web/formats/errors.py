"""The error of text that is not valid for its format, shared by elektrad's
mounted files and clusterd's import."""

from __future__ import annotations

__all__ = ["FormatError"]


class FormatError(Exception):
    """Text is not valid for its format. ``line`` and ``column`` are 1-based
    when known; the message starts with them ("line 3, column 7: ...")."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        where = (
            ""
            if line is None
            else f"line {line}: "
            if column is None
            else (f"line {line}, column {column}: ")
        )
        super().__init__(where + message)
        self.line = line
        self.column = column
        self.reason = message
