"""What a GraphQL document may ask for, refused before it runs.

Depth, aliases and tokens bound the work one document can cause. graphql-core
checks the depth and alias rules together with all of GraphQL's own
validation, whose cost grows with the document: an alias bomb was refused only
after being validated in full, as slowly as it would have been answered.
``Limits`` runs the two rules alone first, so a document over a limit is
refused for the price of parsing it; a document that passes is then validated
by GraphQL's own rules only.

One extension, not strawberry's three (``QueryDepthLimiter``,
``MaxAliasesLimiter``, ``MaxTokensLimiter``) with a fourth to run them first:
those make their rules anew for every request, and each extension costs every
request its share of strawberry's hooks (``scripts/bench-graphql``). The rules
are strawberry's, made once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from graphql import ASTValidationRule, validate
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

__all__ = ["LIMITS", "MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "Limits"]

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5_000

_RULES: tuple[type[ASTValidationRule], ...] = (
    depth_rule(MAX_DEPTH, should_ignore=None),
    aliases_rule(MAX_ALIASES),
)


class Limits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        # Before parsing: the parser gives up past this many tokens.
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            errors = validate(context.schema._schema, document, _RULES)
            if errors:
                # Set before validation runs: strawberry answers with these.
                context.pre_execution_errors = errors
        yield


#: The schema extensions that enforce the limits, in order.
LIMITS: list[Callable[[], SchemaExtension]] = [Limits]
