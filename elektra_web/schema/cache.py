"""Parsed and validated documents, kept between requests.

Clients send the same few documents again and again (the web client's, ``watch``'s, a
script's), and parsing and validating one cost more than answering a small one
(``scripts/bench-graphql``). Both depend on the document's text only (and the token limit,
which is fixed), never on the variables or the caller, so both are kept by text (used by
``schema/admission.py``):

- ``parsed``: the parsed documents, by text and parse options (``max_tokens``). A text
  that does not parse, or has too many tokens, is not kept: strawberry parses it again
  and refuses it as it would without the cache (not strawberry's ``ParserCache``, which
  raises the parse error out of its hook, past the extension that gives it its code:
  ``errors.after_parse``);
- ``known_valid``: the texts that passed the whole validation, the limits
  (``schema/limits.py``) and GraphQL's own rules: such a text skips both next time.
  Only passing texts are kept, so a refused document is validated and refused each
  time, with the errors of that request. Not strawberry's ``ValidationCache``: that one
  keys its cache by the validation rules too, which strawberry's limiters make anew for
  every request (it never hit), and it replaces errors an earlier check set (for
  variables that are not Unicode, ``schema/text.py``) by the document's own, none: it
  would let them through.

Both caches are bounded: ``MAX_DOCUMENTS`` texts of ``MAX_TEXT`` characters in all, least
recently used out first, and a text over ``MAX_ONE_TEXT`` is never kept. A parsed document
takes about 100 bytes per character of its text (2 MB for one of 5,000 tokens), so the
bound is on the text: a caller sending ever new texts costs what it would without the
caches, plus at most about 30 MB.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, cast

from graphql import DocumentNode, GraphQLError, parse

__all__ = [
    "MAX_DOCUMENTS",
    "MAX_ONE_TEXT",
    "MAX_TEXT",
    "forget_all",
    "known_valid",
    "parsed",
    "remember_valid",
]

#: Texts each cache keeps: many times the documents clients really send (the web
#: client's are under 300 characters each).
MAX_DOCUMENTS = 256
#: Characters of all the texts one cache keeps, at most.
MAX_TEXT = 256 * 1024
#: A longer text is never kept: parsed, it would take MBs.
MAX_ONE_TEXT = 16 * 1024


class _Lru:
    """Values by key, least recently used out first, bounded by count and by the length
    of the texts they stand for; safe across threads (tests serve several apps from one
    process)."""

    def __init__(self) -> None:
        self._values: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            entry = self._values.get(key)
            if entry is None:
                return None
            self._values.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, text: str, value: object) -> None:
        if len(text) > MAX_ONE_TEXT:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._chars -= old[0]
            self._values[key] = (len(text), value)
            self._chars += len(text)
            while len(self._values) > MAX_DOCUMENTS or self._chars > MAX_TEXT:
                _, (chars, _) = self._values.popitem(last=False)
                self._chars -= chars

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._chars = 0

    def __len__(self) -> int:
        return len(self._values)


#: (text, parse options) -> the parsed document.
_parsed = _Lru()
#: (schema, text) of the texts that passed validation.
_valid = _Lru()


def parsed(text: str, options: Mapping[str, Any]) -> DocumentNode | None:
    """The document of ``text``, parsed with ``options`` once; None if it does not parse
    (not kept: the caller parses it again and refuses it as it would without the cache)."""
    key = (text, *sorted(options.items()))
    document = _parsed.get(key)
    if document is None:
        try:
            document = parse(text, **options)
        except GraphQLError:
            return None
        _parsed.put(key, text, document)
    return cast("DocumentNode", document)


def known_valid(schema: object, text: str) -> bool:
    """Whether ``text`` passed the whole validation in ``schema`` before."""
    return _valid.get((schema, text)) is not None


def remember_valid(schema: object, text: str) -> None:
    _valid.put((schema, text), text, True)


def forget_all() -> None:
    """Empty both caches (for tests that count parses and validations)."""
    _parsed.clear()
    _valid.clear()
