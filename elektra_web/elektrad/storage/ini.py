"""INI files, edited in place with ``configupdater``.

Keys: ``()`` is the file, ``(section,)`` a section (no value) and
``(section, option)`` an option with its value (``None`` for an option written
without ``=``). Nothing else fits in an INI file.

A multi-line value (continuation lines indented below the option) is the text
configupdater gives: the lines joined with ``\\n``, their indentation stripped.
A value with line breaks is written back that way, continuation lines indented
by four spaces. As in configupdater, ``;`` or ``#`` after a value is part of
it: only whole lines are comments.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping

from configupdater import ConfigUpdater, Option, Section

from .base import Document, FileFormat, FormatError, Parts, UnsupportedKey, describe

__all__ = ["IniFormat"]

_SHAPE = (
    "an INI file holds sections (one key part below the mount point, without a value)"
    " and options in them (two key parts)"
)
_CONTINUATION = "    "
# What follows the option name on its line: the delimiter and the spaces around it.
_DELIMITER = re.compile(r"([ \t]*[=:])([ \t]*)(.?)")


class _Updater(ConfigUpdater):
    # Option names are case-sensitive keys, not configparser's lower-cased ones.
    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _read(text: str) -> _Updater:
    updater = _Updater(allow_no_value=True)
    try:
        updater.read_string(text)
    except configparser.DuplicateSectionError as exc:
        raise FormatError(f"section [{exc.section}] appears twice", exc.lineno) from exc
    except configparser.DuplicateOptionError as exc:
        message = f"option {exc.option!r} appears twice in section [{exc.section}]"
        raise FormatError(message, exc.lineno) from exc
    except configparser.MissingSectionHeaderError as exc:
        raise FormatError("expected a [section] header", exc.lineno) from exc
    except configparser.ParsingError as exc:
        line, content = exc.errors[0]
        raise FormatError(f"not a section, option or comment: {content}", line) from exc
    except configparser.Error as exc:
        raise FormatError(str(exc)) from exc
    for section in updater.iter_sections():
        for option in section.iter_options():
            try:
                option.value  # noqa: B018 - configupdater joins the lines here
            except TypeError as exc:
                # "name" without "=" and then an indented line: configupdater
                # cannot join None and the line (configparser refuses it too).
                message = f"option {option.raw_key!r} has no '=' but a continuation line"
                raise FormatError(f"{message} in section [{section.name}]") from exc
    return updater


def _one_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text


def _check_names(parts: Parts) -> None:
    section = parts[0]
    if not section or not _one_line(section):
        raise UnsupportedKey(f"{describe(parts)}: an INI section name is one non-empty line")
    if len(parts) == 2:
        option = parts[1]
        if (
            not option
            or option != option.strip()
            or not _one_line(option)
            or "=" in option
            or ":" in option
            or option[0] in "#;["
        ):
            raise UnsupportedKey(
                f"{describe(parts)}: an INI option name cannot be empty, start or end with"
                " a space, contain '=', ':' or a line break, or start with '#', ';' or '['"
            )


def _check_value(parts: Parts, value: str) -> None:
    # Anything else would read back differently: the parser strips every line
    # and ends a value at an empty line.
    lines = value.split("\n")
    if any(line != line.strip() or "\r" in line for line in lines) or not all(lines[1:]):
        raise UnsupportedKey(
            f"{describe(parts)}: an INI value cannot start or end a line with spaces,"
            " nor have an empty line after its first"
        )


class IniDocument(Document):
    """An INI file: sections holding options."""

    def __init__(self, text: str) -> None:
        self._updater = _read(text)

    def keys(self) -> Mapping[Parts, str | None]:
        result: dict[Parts, str | None] = {(): None}
        for section in self._updater.iter_sections():
            result[(section.name,)] = None
            for option in section.iter_options():
                result[(section.name, option.raw_key)] = option.value
        return result

    def set(self, parts: Parts, value: str | None) -> None:
        if len(parts) > 2 or (len(parts) < 2 and value is not None):
            raise UnsupportedKey(f"{describe(parts)}: {_SHAPE}")
        if not parts:
            return
        _check_names(parts)
        if value is not None:
            _check_value(parts, value)
        if parts[0] not in self._updater:
            self._add_section(parts[0])
        if len(parts) == 2:
            self._set_option(self._updater[parts[0]], parts[1], value)
        # Re-reading keeps the parsed values exactly what the next read will give.
        self._updater = _read(str(self._updater))

    def _add_section(self, name: str) -> None:
        text = str(self._updater)
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not text.endswith("\n\n"):
            text += "\n"
        self._updater = _read(f"{text}[{name}]\n")

    def _set_option(self, section: Section, name: str, value: str | None) -> None:
        old = section.get(name)
        before, after = " =", " "
        if old is not None:
            match = _DELIMITER.match(old.lines[0], old.lines[0].find(name) + len(name))
            # An empty old value tells nothing about the space after the delimiter.
            if match is not None and match.group(3) not in ("", "\n"):
                before, after = match.group(1), match.group(2)
            elif match is not None:
                before = match.group(1)
                after = " " if before[0] in " \t" else ""
        elif section.option_blocks():
            section.option_blocks()[-1].add_after.option(name)
        else:
            section.insert_at(0).option(name)
        delimiter = before if not value or value.startswith("\n") else before + after
        if value is not None:
            value = value.replace("\n", "\n" + _CONTINUATION)
        # A replacing Option object keeps its place; the delimiter is written
        # verbatim, so the spaces around it stay as they were.
        section[name] = Option(name, value, delimiter=delimiter, space_around_delimiters=False)

    def delete(self, parts: Parts) -> None:
        if not parts:
            self._updater = _read("")
        elif parts[0] not in self._updater:
            return
        elif len(parts) == 1:
            self._updater.remove_section(parts[0])
        elif len(parts) == 2 and parts[1] in self._updater[parts[0]]:
            del self._updater[parts[0]][parts[1]]

    def dump(self) -> str:
        return str(self._updater)


class IniFormat(FileFormat):
    """INI files (``.ini``, ``.cfg``, ``.conf``): ``[section]`` headers and options."""

    name = "ini"
    suffixes = (".ini", ".cfg", ".conf")
    max_depth = 2

    def parse(self, text: str) -> IniDocument:
        return IniDocument(text)
