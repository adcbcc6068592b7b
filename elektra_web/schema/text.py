"""Refuse text that is not Unicode before anything runs.

JSON may carry unpaired surrogates (``"\\ud800"``), which Python decodes into
strings that neither the database nor the elektrads' HTTP bodies can encode:
let through, such a value fails half-way (or, in a cluster write, stays
queued forever). One check of the variables and the document, before
validation (``schema/admission.py``), refuses it with BAD_INPUT instead.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

__all__ = ["invalid_text"]


def _invalid(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_invalid(k) or _invalid(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_invalid(v) for v in value)
    return False


def invalid_text(query: str | None, variables: object) -> GraphQLError | None:
    """The refusal of a document or variables that are not Unicode, if they are not."""
    if _invalid(query) or _invalid(variables):
        return GraphQLError(
            "text with an unpaired surrogate (\\ud800-\\udfff) is not valid Unicode",
            extensions={"code": "BAD_INPUT"},
        )
    return None
