"""``check/validation`` patterns, compiled for RE2: matching in linear time.

A backtracking engine (Python's ``re``, the browser's ``RegExp``) takes time
exponential in the value for patterns like ``^(a+)+$``: one metadata value
would stop elektrad for every client. RE2 never backtracks, so checking a
value costs time linear in its length whatever the pattern. What it cannot
run (backreferences like ``\\1``, lookaround like ``(?=...)``) is refused when
the pattern is set, through :func:`pattern_error`, never later when a value
is checked.

Both daemons use this module: elektrad when it stores or applies metadata,
clusterd to refuse a cluster write of a pattern no member could run before
delivering it to each of them.

Semantics follow Elektra's validation plugin (``regcomp`` with
``REG_EXTENDED``, without ``REG_NEWLINE``): POSIX classes like
``[[:digit:]]`` mean what they mean there, ``.`` also matches a newline, and
``$`` matches only at the very end of the text.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]  # ships no type information

__all__ = ["MAX_MEMORY", "Pattern", "compile_pattern", "pattern_error", "pattern_refusal"]

# RE2's budget for one compiled pattern and its matching automata: a pattern
# that needs more (say, a long literal or big repeat counts) is refused at
# set time as "too large"; 1 MiB is ample for any real validation pattern and
# bounds what 256 cached patterns can hold.
MAX_MEMORY = 1 << 20
# Distinct patterns kept compiled; a fleet's keys share few patterns, and the
# bound keeps a client that sets many different ones from growing memory.
_CACHE_SIZE = 256

Pattern = Any  # re2._Regexp: the package ships no type information


def compile_pattern(pattern: str, *, ignorecase: bool = False) -> Pattern:
    """The compiled ``pattern`` (cached); raises ``ValueError`` if RE2 cannot run it."""
    return _compile(pattern, ignorecase)


def pattern_error(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` (``None`` if it can), for an error message."""
    try:
        _compile(pattern, False)
    except ValueError as exc:
        return str(exc)
    return None


def pattern_refusal(pattern: str) -> str | None:
    """The error message both daemons give for a ``check/validation`` RE2 cannot run.

    ``check/validation: "(a)\\1" is not a regular expression RE2 can run:
    invalid escape sequence: \\1 (backreferences need backtracking, ...)``;
    ``None`` for a pattern it can run.
    """
    reason = pattern_error(pattern)
    if reason is None:
        return None
    shown = pattern if len(pattern) <= 60 else pattern[:59] + "…"
    quoted = json.dumps(shown, ensure_ascii=False)
    return f"check/validation: {quoted} is not a regular expression RE2 can run: {reason}"


@lru_cache(maxsize=_CACHE_SIZE)
def _compile(pattern: str, ignorecase: bool) -> Pattern:
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.dot_nl = True  # regcomp without REG_NEWLINE: "." matches "\n" too
    options.case_sensitive = not ignorecase
    options.log_errors = False  # the refusal is the caller's to report, not stderr's
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot be compiled"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        reason = str(reason)
        if len(reason) > 120:  # RE2 quotes the offending part: maybe the whole pattern
            reason = reason[:119] + "…"
        raise ValueError(_explain(reason)) from None


def _explain(reason: str) -> str:
    """RE2's reason, with a word on why for what people most often write."""
    if reason.startswith("invalid escape sequence: \\") and reason[-1:].isdigit():
        return f"{reason} (backreferences need backtracking, which is not linear-time)"
    if reason.startswith("invalid perl operator: (?") and reason[-1:] in "=!<":
        return f"{reason} (lookaround needs backtracking, which is not linear-time)"
    if reason.startswith("pattern too large"):
        return f"{reason} (over {MAX_MEMORY // 1024} KiB compiled)"
    return reason
