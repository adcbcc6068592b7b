"""What a document passes before it runs, in one extension and in this order:

1. its text and variables are Unicode (``schema/text.py``), whatever else;
2. a text that passed before is let through (``schema/cache.py``): it would pass
   again, its validity depending on the text alone;
3. the limits (``schema/limits.py``), then GraphQL's own validation (strawberry's,
   right after), and a text that passed both is remembered;
4. what failed gets the code of its phase (``schema/errors.py``), and a document
   of several operations without operationName fails operation selection.

The document is parsed once per text (``schema/cache.py``), with at most
``MAX_TOKENS`` tokens. One extension rather than one per check: the order is
written here rather than implied by the order of a list, and every extension
costs every request its share of strawberry's hooks (``scripts/bench-graphql``).
"""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from . import cache
from . import errors as error_codes
from .limits import MAX_TOKENS, over_limits
from .text import invalid_text

__all__ = ["Admission"]


class Admission(SchemaExtension):
    def __init__(self) -> None:
        super().__init__()
        self._known = False

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        # Before parsing: the parser gives up past this many tokens.
        context.parse_options["max_tokens"] = MAX_TOKENS
        if context.graphql_document is None and context.query:
            context.graphql_document = cache.parsed(context.query, context.parse_options)
        yield
        error_codes.after_parse(context)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        text, document = context.query, context.graphql_document
        # Errors set here come before strawberry's validation, which then does not run.
        if context.pre_execution_errors is None:
            if (error := invalid_text(text, context.variables)) is not None:
                context.pre_execution_errors = [error]
            elif text and cache.known_valid(context.schema, text):
                self._known = True
                context.pre_execution_errors = []
            elif document is not None and (errors := over_limits(context.schema._schema, document)):
                context.pre_execution_errors = errors
        yield
        if not self._known and text and context.pre_execution_errors == []:
            cache.remember_valid(context.schema, text)
        error_codes.after_validate(context)
