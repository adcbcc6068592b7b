"""What a GraphQL document may ask for, refused before it runs.

Depth, aliases and tokens bound the work one document can cause. graphql-core
checks the depth and alias rules together with all of GraphQL's own
validation, whose cost grows with the document: an alias bomb was refused only
after being validated in full, as slowly as it would have been answered.
``LimitsFirst`` runs the limits alone first, so a document over a limit is
refused for the price of parsing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from graphql import specified_rules, validate
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

__all__ = ["LIMITS", "MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "LimitsFirst"]

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5_000


class LimitsFirst(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            limits = [rule for rule in context.validation_rules if rule not in specified_rules]
            errors = validate(context.schema._schema, document, limits)
            if errors:
                # Set before validation runs: strawberry answers with these.
                context.pre_execution_errors = errors
            else:  # passed: the full validation need not run them again
                context.validation_rules = tuple(
                    rule for rule in context.validation_rules if rule in specified_rules
                )
        yield


#: The schema extensions that enforce the limits, in order.
LIMITS: list[Callable[[], SchemaExtension]] = [
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    LimitsFirst,
]
