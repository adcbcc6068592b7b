"""The GraphQL schema (Strawberry): one module per type; ``root`` builds it.

Types only adapt models and resolver results to GraphQL; the logic lives in
``elektra_web.resolvers``."""
