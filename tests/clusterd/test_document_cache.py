"""Parsed and validated documents are kept (``schema/cache.py``, ``admission.py``): a known valid
text is neither parsed nor validated again, and what was refused is refused
again, every time, by the same check."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema

import elektra_web.schema.cache as cache
import elektra_web.schema.limits as limits
from elektra_web.schema.cache import MAX_DOCUMENTS, MAX_ONE_TEXT

from .api import error_code
from .conftest import Clusterd


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often documents are parsed and validated (clusterd runs in this
    process, in a thread): the limits alone, and GraphQL's rules."""
    counts = {"parse": 0, "validate": 0}
    # Kept across apps and tests: start from none.
    cache.forget_all()

    def counting(name: str, function: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(cache, "parse", counting("parse", cache.parse))
    monkeypatch.setattr(limits, "validate", counting("validate", limits.validate))
    monkeypatch.setattr(
        strawberry_schema, "validate", counting("validate", strawberry_schema.validate)
    )
    return counts


def test_a_valid_document_is_parsed_and_validated_once(
    clusterd: Clusterd, calls: dict[str, int]
) -> None:
    document = "query Cached($i: ID!) { version { api } instance(id: $i) { id } }"
    for n in range(4):
        assert clusterd.ok(document, i=str(n)) == {"version": {"api": 1}, "instance": None}
    assert calls == {"parse": 1, "validate": 2}  # the limits, then GraphQL's rules


HOSTILE = {
    "depth": "{ clusters " + "{ children " * 20 + "{ id }" + " }" * 20 + " }",
    "aliases": "{ " + " ".join(f"a{n}: version {{ api }}" for n in range(200)) + " }",
    "tokens": "{ version { " + "api " * 10_000 + "} }",
    "syntax": "{ version { api }",
    "unknown field": "{ version { api nope } }",
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_refused_document_is_refused_every_time(clusterd: Clusterd, kind: str) -> None:
    answers = [clusterd.query(HOSTILE[kind]) for _ in range(3)]
    assert answers[0].get("errors") and "data" not in answers[0], answers[0]
    assert answers[1] == answers[0] and answers[2] == answers[0]


def test_a_known_document_still_checks_its_variables(clusterd: Clusterd) -> None:
    document = "query($i: ID!) { instance(id: $i) { id } }"
    assert clusterd.ok(document, i="1") == {"instance": None}  # now known and valid
    # Not Unicode (a lone surrogate): refused before anything runs.
    body = json.dumps({"query": document, "variables": {"i": "\ud800"}})
    response = clusterd.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    ).json()
    assert error_code(response) == "BAD_INPUT", response
    # Missing, or of the wrong type: the client's mistake, as without the cache.
    assert error_code(clusterd.query(document)) == "BAD_USER_INPUT"
    assert error_code(clusterd.query(document, i=[1])) == "BAD_USER_INPUT"
    assert clusterd.ok(document, i="2") == {"instance": None}


def test_the_caches_are_bounded() -> None:
    documents = cache._Lru()
    for n in range(MAX_DOCUMENTS + 10):
        documents.put(n, f"{{ a{n} }}", n)
    assert len(documents) == MAX_DOCUMENTS
    assert documents.get(0) is None and documents.get(MAX_DOCUMENTS + 9) == MAX_DOCUMENTS + 9
    documents.put("long", "x" * (MAX_ONE_TEXT + 1), "long")
    assert documents.get("long") is None
    big = "x" * MAX_ONE_TEXT
    for n in range(cache.MAX_TEXT // MAX_ONE_TEXT + 5):
        documents.put(("big", n), big, n)
    assert sum(1 for n in range(40) if documents.get(("big", n)) is not None) <= (
        cache.MAX_TEXT // MAX_ONE_TEXT
    )
