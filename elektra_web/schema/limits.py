"""What a GraphQL document may ask for, refused before it runs.

Depth, aliases and tokens bound the work one document can cause. graphql-core
checks the depth and alias rules together with all of GraphQL's own
validation, whose cost grows with the document: an alias bomb was refused only
after being validated in full, as slowly as it would have been answered.
``over_limits`` runs the two rules alone, before GraphQL's own validation
(``schema/admission.py``), so a document over a limit is refused for the price
of parsing it; the parser itself gives up past ``MAX_TOKENS``.

The rules are strawberry's (``QueryDepthLimiter``, ``MaxAliasesLimiter``), made
once: its extensions make them anew for every request, and each extension costs
every request its share of strawberry's hooks (``scripts/bench-graphql``).
"""

from __future__ import annotations

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "over_limits"]

MAX_DEPTH = 12
MAX_ALIASES = 50
MAX_TOKENS = 5_000

_RULES: tuple[type[ASTValidationRule], ...] = (
    depth_rule(MAX_DEPTH, should_ignore=None),
    aliases_rule(MAX_ALIASES),
)


def over_limits(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """The refusals of a document too deep or with too many aliases (none: it is not)."""
    return validate(schema, document, _RULES)
